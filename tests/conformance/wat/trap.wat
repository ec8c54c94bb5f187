;; A deliberately breakable proxy-wasm module (ABI 0.2.100) for the trap
;; scenarios of the conformance corpus. It behaves like a tiny JSON-mode filter:
;;
;;   request headers   a request carrying `x-trap` traps here (`unreachable`)
;;   response headers  held (StopIteration); an `x-buffer-limit` response header
;;                     is passed to Envoy as the set_encoder_buffer_limit property
;;   response body     buffered to the end; a body starting with "TRAP" traps,
;;                     any other body is sent with proxy_http_call to
;;                     outbound|443||deepseek.dns and the response stays paused
;;   call answer       an answer body starting with "TRAP" traps; otherwise the
;;                     response body becomes the answer body (content-length
;;                     removed, x-replaced: 1) and the stream resumes once
;;
;; Memory: scratch out-slots at 16 (ptr) and 20 (len), call token at 24;
;; strings at 1024; the stream id of call token T at 8192 + T * 4 (tokens are
;; small multiples of 4); heap from 65536, a bump allocator growing memory.
(module
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $remove_header (param i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))

  ;; "x-trap" (6) @1024
  (data (i32.const 1024) "x-trap")
  ;; "outbound|443||deepseek.dns" (26) @1040
  (data (i32.const 1040) "outbound|443||deepseek.dns")
  ;; header map: :method POST, :path /, :authority trap.test (70 bytes) @1072
  (data (i32.const 1072)
    "\03\00\00\00"
    "\07\00\00\00\04\00\00\00" "\05\00\00\00\01\00\00\00" "\0a\00\00\00\09\00\00\00"
    ":method\00POST\00:path\00/\00:authority\00trap.test\00")
  ;; "content-length" (14) @1152
  (data (i32.const 1152) "content-length")
  ;; "x-replaced" (10) @1168, "1" (1) @1184
  (data (i32.const 1168) "x-replaced")
  (data (i32.const 1184) "1")
  ;; "trap module: body replaced" (26) @1200
  (data (i32.const 1200) "trap module: body replaced")
  ;; "trap module: call refused" (25) @1232
  (data (i32.const 1232) "trap module: call refused")
  ;; "x-buffer-limit" (14) @1264, "set_encoder_buffer_limit" (24) @1280
  (data (i32.const 1264) "x-buffer-limit")
  (data (i32.const 1280) "set_encoder_buffer_limit")

  (func $malloc (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (block $ok
      (loop $grow
        (br_if $ok (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow (i32.const 1)))
        (br $grow)))
    (local.get $p))

  (func (export "proxy_abi_version_0_2_100"))
  (func (export "_initialize"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))

  ;; The data at the out-slots starts with "TRAP".
  (func $starts_with_trap (result i32)
    (if (i32.lt_u (i32.load (i32.const 20)) (i32.const 4)) (then (return (i32.const 0))))
    (i32.eq (i32.load (i32.load (i32.const 16))) (i32.const 0x50415254)))

  (func (export "proxy_on_request_headers") (param $c i32) (param $n i32) (param $eos i32) (result i32)
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 1024) (i32.const 6) (i32.const 16) (i32.const 20)))
      (then unreachable))
    (i32.const 0))

  (func (export "proxy_on_response_headers") (param $c i32) (param $n i32) (param $eos i32) (result i32)
    (if (i32.eqz (call $get_header (i32.const 2) (i32.const 1264) (i32.const 14) (i32.const 16) (i32.const 20)))
      (then
        (drop (call $set_property (i32.const 1280) (i32.const 24) (i32.load (i32.const 16)) (i32.load (i32.const 20))))))
    (i32.const 1))

  (func (export "proxy_on_response_body") (param $c i32) (param $size i32) (param $eos i32) (result i32)
    (local $rc i32)
    (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
    (drop (call $get_buffer (i32.const 1) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
    (if (call $starts_with_trap) (then unreachable))
    (local.set $rc (call $http_call (i32.const 1040) (i32.const 26) (i32.const 1072) (i32.const 70)
      (i32.load (i32.const 16)) (i32.load (i32.const 20)) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 24)))
    (if (local.get $rc)
      (then
        (drop (call $proxy_log (i32.const 3) (i32.const 1232) (i32.const 25)))
        (return (i32.const 0))))
    (i32.store (i32.add (i32.const 8192) (i32.shl (i32.load (i32.const 24)) (i32.const 2))) (local.get $c))
    (i32.const 1))

  (func (export "proxy_on_http_call_response")
    (param $root i32) (param $token i32) (param $nh i32) (param $bs i32) (param $nt i32)
    (drop (call $set_effective
      (i32.load (i32.add (i32.const 8192) (i32.shl (local.get $token) (i32.const 2))))))
    (if (i32.gt_u (local.get $nh) (i32.const 0))
      (then
        (drop (call $get_buffer (i32.const 4) (i32.const 0) (local.get $bs) (i32.const 16) (i32.const 20)))
        (if (call $starts_with_trap) (then unreachable))
        (drop (call $set_buffer (i32.const 1) (i32.const 0) (i32.const 0x7fffffff)
          (i32.load (i32.const 16)) (i32.load (i32.const 20))))
        (drop (call $remove_header (i32.const 2) (i32.const 1152) (i32.const 14)))
        (drop (call $replace_header (i32.const 2) (i32.const 1168) (i32.const 10) (i32.const 1184) (i32.const 1)))
        (drop (call $proxy_log (i32.const 2) (i32.const 1200) (i32.const 26)))))
    (drop (call $continue (i32.const 1))))
)
