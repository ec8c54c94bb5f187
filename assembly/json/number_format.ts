// Formatting numbers: f64 -> the shortest text that reads back to the same
// value, in the same layout as JavaScript's Number.prototype.toString (so "3",
// "0.1", "1e+21", "1.5e-7"). Integers below 2^53 and short decimals take fast
// exact paths; the rest use the exact free-format digit generation of Steele &
// White / Burger & Dybvig on bignums (static memory: nothing allocates).

import { byteAt, putByte } from "./utf8";
import { BIG_MM, BIG_MP, BIG_R, BIG_S, BIG_T, Big, TWO_POW_53_F, pow10f, pow10u } from "./bignum";

// @ts-ignore: decorator
@lazy const DIGIT_BUF = memory.data(32);

/** Where the decimal point goes for the digits in DIGIT_BUF: value = 0.d1d2... * 10^pointPos. */
let pointPos: i32 = 0;

/**
 * Writes the JavaScript Number#toString text of finite `x` at `out` (room for
 * 32 bytes needed) and returns its length. -0 is written as "0".
 */
export function writeNumberText(out: usize, x: f64): i32 {
  if (x == 0) {
    putByte(out, 0x30);
    return 1;
  }
  let o = 0;
  if (x < 0) {
    putByte(out, 0x2d);
    o = 1;
    x = -x;
  }
  if (x < TWO_POW_53_F && Math.floor(x) == x) {
    return o + writeUnsigned(out + <usize>o, <u64>x);
  }
  let nd = shortFraction(x);
  if (nd == 0) nd = freeFormatDigits(x);
  return o + layoutDigits(out + <usize>o, nd, pointPos);
}

/** Writes the decimal digits of `v` at `out`; returns the count. */
export function writeUnsigned(out: usize, v: u64): i32 {
  let n = 1;
  while (n < 20 && v >= pow10u(n)) n++;
  let p = n;
  while (p > 0) {
    p--;
    putByte(out + <usize>p, 0x30 + <u32>(v % 10));
    v /= 10;
  }
  return n;
}

/**
 * Fast exact path for decimals with a short fraction (0.1, 3.14, 1.5e-7):
 * finds the fewest fraction digits k for which exactly one k-digit decimal
 * reads back as x. Fills DIGIT_BUF and pointPos; returns the digit count, or 0
 * when the slow path must decide (no such k below the f64 integer range, or
 * two candidates at the same length).
 */
function shortFraction(x: f64): i32 {
  for (let k = 1; k <= 22; k++) {
    let scale = pow10f(k);
    let t = x * scale;
    if (t >= TWO_POW_53_F - 4) return 0;
    let d = Math.floor(t + 0.5);
    let found: f64 = -1;
    let count = 0;
    for (let c = d - 2; c <= d + 2; c += 1) {
      if (c < 1) continue;
      if (c / scale == x) {
        found = c;
        count++;
      }
    }
    if (count == 0) continue;
    if (count > 1) return 0;
    // Digits of `found`, trailing zeros dropped (they cannot occur at the
    // smallest k, but stay safe).
    let v = <u64>found;
    let n = writeUnsigned(DIGIT_BUF, v);
    let point = n - k;
    while (n > 1 && byteAt(DIGIT_BUF + <usize>(n - 1)) == 0x30) n--;
    pointPos = point;
    return n;
  }
  return 0;
}

/**
 * Shortest, closest digits of positive finite x by exact free-format
 * generation. Fills DIGIT_BUF and pointPos; returns the digit count.
 */
function freeFormatDigits(x: f64): i32 {
  let bits = reinterpret<u64>(x);
  let biased = <i32>(bits >> 52);
  let frac = bits & 0x000fffffffffffff;
  let f: u64;
  let e: i32;
  if (biased == 0) {
    f = frac;
    e = -1074;
  } else {
    f = frac | 0x0010000000000000;
    e = biased - 1075;
  }
  let even = (f & 1) == 0;
  let lowerCloser = frac == 0 && biased > 1;

  // value = r / s; the rounding interval is (r - mMinus, r + mPlus) / s.
  let r = BIG_R;
  let s = BIG_S;
  let mPlus = BIG_MP;
  let mMinus = BIG_MM;
  r.setU64(f);
  s.setU64(1);
  mPlus.setU64(1);
  mMinus.setU64(1);
  if (e >= 0) {
    if (lowerCloser) {
      r.shiftLeft(e + 2);
      s.setU64(4);
      mPlus.shiftLeft(e + 1);
      mMinus.shiftLeft(e);
    } else {
      r.shiftLeft(e + 1);
      s.setU64(2);
      mPlus.shiftLeft(e);
      mMinus.shiftLeft(e);
    }
  } else {
    if (lowerCloser) {
      r.shiftLeft(2);
      s.shiftLeft(2 - e);
      mPlus.setU64(2);
    } else {
      r.shiftLeft(1);
      s.shiftLeft(1 - e);
    }
  }
  // Estimate the decimal exponent, then correct it exactly.
  let k = <i32>Math.ceil(Math.log10(x) - 1e-10);
  if (k >= 0) s.mulPow10(k);
  else {
    r.mulPow10(-k);
    mPlus.mulPow10(-k);
    mMinus.mulPow10(-k);
  }
  let high = BIG_T;
  for (let guard = 0; guard < 4; guard++) {
    high.copyFrom(r);
    high.add(mPlus);
    let c = Big.compare(high, s);
    if (even ? c >= 0 : c > 0) {
      s.mulSmall(10);
      k++;
    } else break;
  }
  for (let guard = 0; guard < 4; guard++) {
    // The estimate may also be one too high: then the first digit would be 0.
    high.copyFrom(r);
    high.add(mPlus);
    high.mulSmall(10);
    let c = Big.compare(high, s);
    if (even ? c < 0 : c <= 0) {
      r.mulSmall(10);
      mPlus.mulSmall(10);
      mMinus.mulSmall(10);
      k--;
    } else break;
  }

  let n = 0;
  while (n < 24) {
    r.mulSmall(10);
    mPlus.mulSmall(10);
    mMinus.mulSmall(10);
    let digit: u32 = 0;
    while (Big.compare(r, s) >= 0 && digit < 10) {
      r.sub(s);
      digit++;
    }
    let cLow = Big.compare(r, mMinus);
    let low = even ? cLow <= 0 : cLow < 0;
    high.copyFrom(r);
    high.add(mPlus);
    let cHigh = Big.compare(high, s);
    let up = even ? cHigh >= 0 : cHigh > 0;
    if (!low && !up) {
      putByte(DIGIT_BUF + <usize>n, 0x30 + digit);
      n++;
      continue;
    }
    if (low && up) {
      // Both ends allowed: take the closer one, the even digit on a tie.
      high.copyFrom(r);
      high.shiftLeft(1);
      let c = Big.compare(high, s);
      if (c > 0 || (c == 0 && (digit & 1) != 0)) digit++;
    } else if (up) {
      digit++;
    }
    putByte(DIGIT_BUF + <usize>n, 0x30 + digit);
    n++;
    break;
  }
  // A final digit rounded up to 10 carries into the previous ones.
  let last = n - 1;
  while (last > 0 && byteAt(DIGIT_BUF + <usize>last) > 0x39) {
    putByte(DIGIT_BUF + <usize>last, 0x30);
    putByte(DIGIT_BUF + <usize>(last - 1), byteAt(DIGIT_BUF + <usize>(last - 1)) + 1);
    last--;
  }
  if (byteAt(DIGIT_BUF) > 0x39) {
    putByte(DIGIT_BUF, 0x31);
    k++;
  }
  while (n > 1 && byteAt(DIGIT_BUF + <usize>(n - 1)) == 0x30) n--;
  pointPos = k;
  return n;
}

/** Lays out nd digits from DIGIT_BUF with decimal exponent `point` the way JavaScript does. */
function layoutDigits(out: usize, nd: i32, point: i32): i32 {
  let p = out;
  if (nd <= point && point <= 21) {
    // 1234e7 -> 12340000000
    for (let i = 0; i < nd; i++) putByte(p++, digitAt(i));
    for (let i = nd; i < point; i++) putByte(p++, 0x30);
  } else if (0 < point && point <= 21) {
    // 1234e-2 -> 12.34
    for (let i = 0; i < point; i++) putByte(p++, digitAt(i));
    putByte(p++, 0x2e);
    for (let i = point; i < nd; i++) putByte(p++, digitAt(i));
  } else if (-6 < point && point <= 0) {
    // 1234e-6 -> 0.001234
    putByte(p++, 0x30);
    putByte(p++, 0x2e);
    for (let i = point; i < 0; i++) putByte(p++, 0x30);
    for (let i = 0; i < nd; i++) putByte(p++, digitAt(i));
  } else {
    // Exponent form: d[.ddd]e(+|-)n
    putByte(p++, digitAt(0));
    if (nd > 1) {
      putByte(p++, 0x2e);
      for (let i = 1; i < nd; i++) putByte(p++, digitAt(i));
    }
    putByte(p++, 0x65);
    let exp = point - 1;
    if (exp < 0) {
      putByte(p++, 0x2d);
      exp = -exp;
    } else {
      putByte(p++, 0x2b);
    }
    p += <usize>writeUnsigned(p, <u64>exp);
  }
  return <i32>(p - out);
}

// @ts-ignore: decorator
@inline function digitAt(i: i32): u32 {
  return byteAt(DIGIT_BUF + <usize>i);
}
