;; Functions of a test module assembled by tests/kit/wat.ts (which adds the
;; prelude: imports, memory, malloc, $log/$logn/$logs/$logout, and resolves
;; @string references).
;;
;; The module pauses every response, sends the complete response body to a
;; cluster with proxy_http_call, and, when the answer is 2xx, replaces the body
;; with the answer, removes content-length (unless `fix` is 0) and sets
;; x-mode. It resumes the stream exactly once in every case.
;; Stream ids are kept per call token at 32768 + token * 4.

(global $fix (export "fix") (mut i32) (i32.const 1))
(global $timeout (export "timeout") (mut i32) (i32.const 5000))

(func (export "proxy_on_request_headers") (param $c i32) (param $n i32) (param $eos i32) (result i32)
  (call $logn @req_headers (local.get $eos))
  (i32.const 0))

(func (export "proxy_on_request_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
  (call $logn @req_body (local.get $size))
  (i32.const 0))

(func (export "proxy_on_response_headers") (param $c i32) (param $n i32) (param $eos i32) (result i32)
  (drop (call $proxy_get_header_map_value (i32.const 2) @status_key (i32.const 16) (i32.const 20)))
  (call $logout @resp_status)
  (i32.const 1))

(func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
  (call $logn @resp_body (local.get $size))
  (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
  (drop (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
  (call $logn @call_rc
    (call $proxy_http_call @cluster @call_headers (call $out_ptr) (call $out_len)
      (i32.const 0) (i32.const 0) (global.get $timeout) (i32.const 24)))
  (i32.store (i32.add (i32.const 32768) (i32.shl (i32.load (i32.const 24)) (i32.const 2))) (local.get $c))
  (i32.const 1))

(func (export "proxy_on_http_call_response")
  (param $root i32) (param $token i32) (param $nh i32) (param $bs i32) (param $nt i32)
  (local $ok i32)
  (call $logn @call_headers_n (local.get $nh))
  (if (i32.gt_u (local.get $nh) (i32.const 0))
    (then
      (drop (call $proxy_get_header_map_value (i32.const 6) @status_key (i32.const 16) (i32.const 20)))
      (call $logout @call_status)
      ;; 2xx: the status text starts with "2"
      (local.set $ok (i32.eq (i32.load8_u (call $out_ptr)) (i32.const 50)))))
  (drop (call $proxy_set_effective_context
    (i32.load (i32.add (i32.const 32768) (i32.shl (local.get $token) (i32.const 2))))))
  (if (local.get $ok)
    (then
      (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $bs) (i32.const 16) (i32.const 20)))
      (drop (call $proxy_get_buffer_status (i32.const 1) (i32.const 40) (i32.const 44)))
      (drop (call $proxy_set_buffer_bytes (i32.const 1) (i32.const 0) (i32.load (i32.const 40)) (call $out_ptr) (call $out_len)))
      (if (global.get $fix) (then (drop (call $proxy_remove_header_map_value (i32.const 2) @cl_key))))
      (drop (call $proxy_replace_header_map_value (i32.const 2) @mode_key @mode_value))))
  (drop (call $proxy_continue_stream (i32.const 1))))
