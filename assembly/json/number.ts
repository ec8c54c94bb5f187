// Parsing numbers of JSON text: decimal text -> f64, correctly rounded (round
// half to even). Most numbers take an exact fast path (at most 2^53 as an
// integer significand and a small power of ten); the rest compare the decimal
// value exactly against binary midpoints with a small fixed-size bignum
// (bignum.ts). Formatting is in number_format.ts.
//
// All bignum storage is static memory, so no path here allocates.

import { byteAt, putByte } from "./utf8";
import { BIG_A, BIG_B, Big, TWO_POW_53, pow10f, pow10u } from "./bignum";

// ---------------------------------------------------------------------------
// Parsing.

/**
 * Exact value of w * 10^e10 when plain f64 arithmetic gives it correctly
 * rounded (Clinger's fast path); -1 when it cannot. w is non-negative.
 */
export function fastDecimalToF64(w: u64, e10: i32): f64 {
  if (w == 0) return 0;
  if (w > TWO_POW_53) return -1;
  let x = <f64>w;
  if (e10 == 0) return x;
  if (e10 > 0) {
    if (e10 <= 22) return x * pow10f(e10);
    if (e10 <= 22 + 18) {
      // Move part of the exponent into the integer when it stays exact.
      let p = pow10u(e10 - 22);
      if (w <= TWO_POW_53 / p) return <f64>(w * p) * 1e22;
    }
    return -1;
  }
  if (e10 >= -22) return x / pow10f(-e10);
  return -1;
}

/** Most significant digits kept exactly; any further non-zero digit is folded into one sticky digit. */
const MAX_DIGITS: i32 = 780;

// @ts-ignore: decorator
@lazy const DIGITS = memory.data(MAX_DIGITS + 8);

/**
 * Value of the JSON number text at `ptr` (`len` bytes, already validated by the
 * parser's grammar), correctly rounded. Exponents too large give +-Infinity,
 * too small +-0.
 */
export function parseNumberText(ptr: usize, len: i32): f64 {
  let pos = 0;
  let negative = false;
  if (len > 0 && byteAt(ptr) == 0x2d) {
    negative = true;
    pos = 1;
  }
  // Collect the significant digits (leading zeros dropped) and the exponent
  // that scales them: value = digits * 10^e10.
  let nd = 0; // digits stored in DIGITS
  let sticky = false; // a non-zero digit was dropped past MAX_DIGITS
  let e10: i64 = 0;
  let seenPoint = false;
  while (pos < len) {
    let c = byteAt(ptr + <usize>pos);
    if (c == 0x2e) {
      seenPoint = true;
      pos++;
      continue;
    }
    let d = c - 0x30;
    if (d >= 10) break;
    pos++;
    if (nd == 0 && d == 0) {
      if (seenPoint) e10--;
      continue;
    }
    if (nd < MAX_DIGITS) {
      putByte(DIGITS + <usize>nd, d);
      nd++;
      if (seenPoint) e10--;
    } else {
      if (d != 0) sticky = true;
      if (!seenPoint) e10++;
    }
  }
  if (pos < len && (byteAt(ptr + <usize>pos) | 0x20) == 0x65) {
    pos++;
    let expNegative = false;
    if (pos < len) {
      let s = byteAt(ptr + <usize>pos);
      if (s == 0x2d || s == 0x2b) {
        expNegative = s == 0x2d;
        pos++;
      }
    }
    let ev: i64 = 0;
    while (pos < len) {
      let d = byteAt(ptr + <usize>pos) - 0x30;
      if (d >= 10) break;
      if (ev < 100000000) ev = ev * 10 + <i64>d;
      pos++;
    }
    e10 += expNegative ? -ev : ev;
  }
  // Trailing zeros only scale.
  while (nd > 0 && byteAt(DIGITS + <usize>(nd - 1)) == 0) {
    nd--;
    e10++;
  }
  let value = digitsToF64(nd, e10, sticky);
  return negative ? -value : value;
}

/** Positive value of DIGITS[0..nd) * 10^e10 (plus a sticky tail), correctly rounded. */
function digitsToF64(nd: i32, e10: i64, sticky: bool): f64 {
  if (nd == 0) return 0;
  // Magnitude is in [10^(nd+e10-1), 10^(nd+e10)).
  let magnitude = <i64>nd + e10;
  if (magnitude > 310) return Infinity;
  if (magnitude < -324) return 0;
  let e = <i32>e10;
  // Leading 19 digits as an integer, for the fast path and the first guess.
  let head = nd < 19 ? nd : 19;
  let w: u64 = 0;
  for (let i = 0; i < head; i++) w = w * 10 + <u64>byteAt(DIGITS + <usize>i);
  let headExp = e + (nd - head);
  if (nd == head && !sticky) {
    let fast = fastDecimalToF64(w, headExp);
    if (fast >= 0) return fast;
  }
  if (sticky) {
    // Append a '1' digit: it sits strictly between the kept digits and the next
    // decimal step, exactly where the true value is relative to every midpoint.
    putByte(DIGITS + <usize>nd, 1);
    nd++;
    e--;
  }
  return refineGuess(approximate(w, headExp), nd, e);
}

/** A close (few ulp) f64 approximation of w * 10^e10; never NaN. */
function approximate(w: u64, e10: i32): f64 {
  let x = <f64>w;
  while (e10 > 22) {
    x *= 1e22;
    e10 -= 22;
    if (x == Infinity) return x;
  }
  while (e10 < -22) {
    x /= 1e22;
    e10 += 22;
    if (x == 0) return x;
  }
  return e10 >= 0 ? x * pow10f(e10) : x / pow10f(-e10);
}

/**
 * Walks from `guess` to the correctly rounded f64 of D * 10^e10, where D is the
 * integer DIGITS[0..nd), comparing exactly against the midpoints between
 * neighbouring doubles.
 */
function refineGuess(guess: f64, nd: i32, e10: i32): f64 {
  if (guess == Infinity) guess = f64.MAX_VALUE;
  if (guess <= 0) guess = f64.MIN_VALUE;
  for (let step = 0; step < 128; step++) {
    let bits = reinterpret<u64>(guess);
    let biased = <i32>(bits >> 52);
    let frac = bits & 0x000fffffffffffff;
    let m: u64;
    let k: i32;
    if (biased == 0) {
      m = frac;
      k = -1074;
    } else {
      m = frac | 0x0010000000000000;
      k = biased - 1075;
    }
    let odd = (m & 1) != 0;
    // Upper midpoint: (2m + 1) * 2^(k - 1).
    let up = compareDecimalToBinary(nd, e10, (m << 1) + 1, k - 1);
    if (up > 0 || (up == 0 && odd)) {
      guess = reinterpret<f64>(bits + 1);
      if (guess == Infinity) return guess;
      continue;
    }
    // Lower midpoint: half as far below a power of two (except at the bottom of the normal range).
    let down: i32;
    if (frac == 0 && biased > 1) down = compareDecimalToBinary(nd, e10, (m << 2) - 1, k - 2);
    else down = compareDecimalToBinary(nd, e10, (m << 1) - 1, k - 1);
    if (down < 0 || (down == 0 && odd)) {
      guess = reinterpret<f64>(bits - 1);
      if (guess == 0) return guess;
      continue;
    }
    return guess;
  }
  return guess;
}

/** Sign of (DIGITS[0..nd) * 10^e10) - (mant * 2^e2), computed exactly. */
function compareDecimalToBinary(nd: i32, e10: i32, mant: u64, e2: i32): i32 {
  let a = BIG_A;
  let b = BIG_B;
  a.setZero();
  // D, nine digits at a time.
  let i = 0;
  while (i < nd) {
    let chunk: u32 = 0;
    let n = 0;
    while (n < 9 && i < nd) {
      chunk = chunk * 10 + byteAt(DIGITS + <usize>i);
      i++;
      n++;
    }
    a.mulSmall(<u32>pow10u(n));
    a.addSmall(chunk);
  }
  b.setU64(mant);
  let twosA = 0;
  let twosB = e2;
  if (e10 >= 0) {
    a.mulPow5(e10);
    twosA = e10;
  } else {
    b.mulPow5(-e10);
    twosB -= e10;
  }
  if (twosA > twosB) a.shiftLeft(twosA - twosB);
  else if (twosB > twosA) b.shiftLeft(twosB - twosA);
  return Big.compare(a, b);
}
// ---------------------------------------------------------------------------
// Integer test on number text.

/**
 * True when the validated JSON number text at `ptr` denotes a mathematical
 * integer: "1", "1.0", "1e2", "-0", "1.5e1", "1e400" are integers; "1.5",
 * "1e-400" are not. Decided on the text, so no rounding is involved.
 */
export function numberTextIsInteger(ptr: usize, len: i32): bool {
  let pos = 0;
  if (len > 0 && byteAt(ptr) == 0x2d) pos = 1;
  // Power of ten of the least significant non-zero digit; integer-part
  // positions are counted from the left and fixed up once the length is known.
  let intDigits: i64 = 0;
  let fractionDigits: i64 = 0;
  let lastNonZero: i64 = -1; // index in the integer part, or -1
  let lastNonZeroFraction: i64 = 0; // 1-based index in the fraction, or 0
  let anyNonZero = false;
  let inFraction = false;
  while (pos < len) {
    let c = byteAt(ptr + <usize>pos);
    if (c == 0x2e) {
      inFraction = true;
      pos++;
      continue;
    }
    let d = c - 0x30;
    if (d >= 10) break;
    pos++;
    if (inFraction) {
      fractionDigits++;
      if (d != 0) {
        lastNonZeroFraction = fractionDigits;
        anyNonZero = true;
      }
    } else {
      if (d != 0) {
        lastNonZero = intDigits;
        anyNonZero = true;
      }
      intDigits++;
    }
  }
  if (!anyNonZero) return true; // zero, whatever the exponent
  let exp: i64 = 0;
  if (pos < len && (byteAt(ptr + <usize>pos) | 0x20) == 0x65) {
    pos++;
    let negative = false;
    if (pos < len) {
      let s = byteAt(ptr + <usize>pos);
      if (s == 0x2d || s == 0x2b) {
        negative = s == 0x2d;
        pos++;
      }
    }
    while (pos < len) {
      let d = byteAt(ptr + <usize>pos) - 0x30;
      if (d >= 10) break;
      if (exp < 100000000) exp = exp * 10 + <i64>d;
      pos++;
    }
    if (negative) exp = -exp;
  }
  let lowPower: i64 = lastNonZeroFraction > 0 ? -lastNonZeroFraction : intDigits - 1 - lastNonZero;
  return lowPower + exp >= 0;
}
