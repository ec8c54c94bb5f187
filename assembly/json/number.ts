// Number conversions for JSON text.
//
// Parsing: decimal text -> f64, correctly rounded (round half to even). Most
// numbers take an exact fast path (at most 2^53 as an integer significand and
// a small power of ten); the rest compare the decimal value exactly against
// binary midpoints with a small fixed-size bignum.
//
// Formatting: f64 -> the shortest text that reads back to the same value, in
// the same layout as JavaScript's Number.prototype.toString (so "3", "0.1",
// "1e+21", "1.5e-7"). Integers below 2^53 and short decimals take fast exact
// paths; the rest use the exact free-format digit generation of Steele & White
// / Burger & Dybvig on bignums.
//
// All bignum storage is static memory, so no path here allocates.

import { byteAt, putByte } from "./utf8";

// ---------------------------------------------------------------------------
// Powers of ten.

// @ts-ignore: decorator
@lazy const POW10_F64 = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]);

// @ts-ignore: decorator
@lazy const POW10_U64 = memory.data<u64>([
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
  10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
  1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
  10000000000000000000,
]);

/** 10^i as an exact f64, for 0 <= i <= 22. */
// @ts-ignore: decorator
@inline function pow10f(i: i32): f64 {
  return load<f64>(POW10_F64 + (<usize>i << 3));
}

/** 10^i as a u64, for 0 <= i <= 19. */
// @ts-ignore: decorator
@inline function pow10u(i: i32): u64 {
  return load<u64>(POW10_U64 + (<usize>i << 3));
}

const TWO_POW_53: u64 = 9007199254740992;
const TWO_POW_53_F: f64 = 9007199254740992.0;

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
  if (len > 0 && byteAt(ptr) == 0x2D) {
    negative = true;
    pos = 1;
  }
  // Collect the significant digits (leading zeros dropped) and the exponent
  // that scales them: value = digits * 10^e10.
  let nd = 0;          // digits stored in DIGITS
  let sticky = false;  // a non-zero digit was dropped past MAX_DIGITS
  let e10: i64 = 0;
  let seenPoint = false;
  while (pos < len) {
    let c = byteAt(ptr + <usize>pos);
    if (c == 0x2E) {
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
      if (s == 0x2D || s == 0x2B) {
        expNegative = s == 0x2D;
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
    let frac = bits & 0x000FFFFFFFFFFFFF;
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
// Formatting.

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
    putByte(out, 0x2D);
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
  let frac = bits & 0x000FFFFFFFFFFFFF;
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
    putByte(p++, 0x2E);
    for (let i = point; i < nd; i++) putByte(p++, digitAt(i));
  } else if (-6 < point && point <= 0) {
    // 1234e-6 -> 0.001234
    putByte(p++, 0x30);
    putByte(p++, 0x2E);
    for (let i = point; i < 0; i++) putByte(p++, 0x30);
    for (let i = 0; i < nd; i++) putByte(p++, digitAt(i));
  } else {
    // Exponent form: d[.ddd]e(+|-)n
    putByte(p++, digitAt(0));
    if (nd > 1) {
      putByte(p++, 0x2E);
      for (let i = 1; i < nd; i++) putByte(p++, digitAt(i));
    }
    putByte(p++, 0x65);
    let exp = point - 1;
    if (exp < 0) {
      putByte(p++, 0x2D);
      exp = -exp;
    } else {
      putByte(p++, 0x2B);
    }
    p += <usize>writeUnsigned(p, <u64>exp);
  }
  return <i32>(p - out);
}

// @ts-ignore: decorator
@inline function digitAt(i: i32): u32 {
  return byteAt(DIGIT_BUF + <usize>i);
}

// ---------------------------------------------------------------------------
// A small unsigned bignum in static memory (little-endian 32-bit limbs).

const BIG_LIMBS: i32 = 192; // 6144 bits: above every intermediate these algorithms build

class Big {
  ptr: usize;
  len: i32 = 0; // limbs in use; the value is 0 when len == 0

  constructor(ptr: usize) {
    this.ptr = ptr;
  }

  // @ts-ignore: decorator
  @inline limb(i: i32): u32 {
    return load<u32>(this.ptr + (<usize>i << 2));
  }

  // @ts-ignore: decorator
  @inline setLimb(i: i32, v: u32): void {
    store<u32>(this.ptr + (<usize>i << 2), v);
  }

  setZero(): void {
    this.len = 0;
  }

  setU64(v: u64): void {
    this.len = 0;
    if (v == 0) return;
    this.setLimb(0, <u32>v);
    this.len = 1;
    let hi = <u32>(v >> 32);
    if (hi != 0) {
      this.setLimb(1, hi);
      this.len = 2;
    }
  }

  copyFrom(o: Big): void {
    memory.copy(this.ptr, o.ptr, <usize>o.len << 2);
    this.len = o.len;
  }

  /** Appends a carry limb when there is room (there always is within the bounds used here). */
  private push(v: u32): void {
    if (this.len < BIG_LIMBS) {
      this.setLimb(this.len, v);
      this.len++;
    }
  }

  mulSmall(m: u32): void {
    let carry: u64 = 0;
    let n = this.len;
    for (let i = 0; i < n; i++) {
      let p = <u64>this.limb(i) * <u64>m + carry;
      this.setLimb(i, <u32>p);
      carry = p >> 32;
    }
    if (carry != 0) this.push(<u32>carry);
  }

  addSmall(a: u32): void {
    let carry = <u64>a;
    let i = 0;
    let n = this.len;
    while (carry != 0 && i < n) {
      let s = <u64>this.limb(i) + carry;
      this.setLimb(i, <u32>s);
      carry = s >> 32;
      i++;
    }
    if (carry != 0) this.push(<u32>carry);
  }

  mulPow5(n: i32): void {
    while (n >= 13) {
      this.mulSmall(1220703125); // 5^13
      n -= 13;
    }
    if (n > 0) this.mulSmall(<u32>ipow5(n));
  }

  mulPow10(n: i32): void {
    this.mulPow5(n);
    this.shiftLeft(n);
  }

  shiftLeft(bits: i32): void {
    if (this.len == 0 || bits <= 0) return;
    let limbs = bits >> 5;
    let rem = bits & 31;
    let n = this.len;
    if (n + limbs + 1 > BIG_LIMBS) limbs = BIG_LIMBS - n - 1; // never reached within the bounds used
    if (limbs < 0) return;
    if (rem == 0) {
      for (let i = n - 1; i >= 0; i--) this.setLimb(i + limbs, this.limb(i));
    } else {
      let top = this.limb(n - 1) >>> (32 - rem);
      for (let i = n - 1; i > 0; i--) {
        this.setLimb(i + limbs, (this.limb(i) << rem) | (this.limb(i - 1) >>> (32 - rem)));
      }
      this.setLimb(limbs, this.limb(0) << rem);
      if (top != 0) {
        this.setLimb(n + limbs, top);
        n++;
      }
    }
    for (let i = 0; i < limbs; i++) this.setLimb(i, 0);
    this.len = n + limbs;
  }

  /** this += o */
  add(o: Big): void {
    let n = this.len > o.len ? this.len : o.len;
    let carry: u64 = 0;
    for (let i = 0; i < n; i++) {
      let a = i < this.len ? <u64>this.limb(i) : 0;
      let b = i < o.len ? <u64>o.limb(i) : 0;
      let s = a + b + carry;
      this.setLimb(i, <u32>s);
      carry = s >> 32;
    }
    this.len = n;
    if (carry != 0) this.push(<u32>carry);
  }

  /** this -= o, for this >= o */
  sub(o: Big): void {
    let borrow: i64 = 0;
    let n = this.len;
    for (let i = 0; i < n; i++) {
      let b = i < o.len ? <i64>o.limb(i) : 0;
      let d = <i64>this.limb(i) - b - borrow;
      if (d < 0) {
        d += 0x100000000;
        borrow = 1;
      } else borrow = 0;
      this.setLimb(i, <u32>d);
    }
    while (n > 0 && this.limb(n - 1) == 0) n--;
    this.len = n;
  }

  static compare(a: Big, b: Big): i32 {
    if (a.len != b.len) return a.len > b.len ? 1 : -1;
    for (let i = a.len - 1; i >= 0; i--) {
      let x = a.limb(i);
      let y = b.limb(i);
      if (x != y) return x > y ? 1 : -1;
    }
    return 0;
  }
}

function ipow5(n: i32): u64 {
  let r: u64 = 1;
  for (let i = 0; i < n; i++) r *= 5;
  return r;
}

// @ts-ignore: decorator
@lazy const BIG_A = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy const BIG_B = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy const BIG_R = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy const BIG_S = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy const BIG_MP = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy const BIG_MM = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy const BIG_T = new Big(memory.data(BIG_LIMBS << 2));

// ---------------------------------------------------------------------------
// Integer test on number text.

/**
 * True when the validated JSON number text at `ptr` denotes a mathematical
 * integer: "1", "1.0", "1e2", "-0", "1.5e1", "1e400" are integers; "1.5",
 * "1e-400" are not. Decided on the text, so no rounding is involved.
 */
export function numberTextIsInteger(ptr: usize, len: i32): bool {
  let pos = 0;
  if (len > 0 && byteAt(ptr) == 0x2D) pos = 1;
  // Power of ten of the least significant non-zero digit; integer-part
  // positions are counted from the left and fixed up once the length is known.
  let intDigits: i64 = 0;
  let fractionDigits: i64 = 0;
  let lastNonZero: i64 = -1;   // index in the integer part, or -1
  let lastNonZeroFraction: i64 = 0; // 1-based index in the fraction, or 0
  let anyNonZero = false;
  let inFraction = false;
  while (pos < len) {
    let c = byteAt(ptr + <usize>pos);
    if (c == 0x2E) {
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
      if (s == 0x2D || s == 0x2B) {
        negative = s == 0x2D;
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
  let lowPower: i64 = lastNonZeroFraction > 0
    ? -lastNonZeroFraction
    : intDigits - 1 - lastNonZero;
  return lowPower + exp >= 0;
}
