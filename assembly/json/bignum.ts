// Exact arithmetic shared by number parsing (number.ts) and formatting
// (number_format.ts): powers of ten, and a small unsigned bignum whose storage
// is static memory, so no path here allocates.

// ---------------------------------------------------------------------------
// Powers of ten.

// @ts-ignore: decorator
@lazy const POW10_F64 = memory.data<f64>([
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
]);

// @ts-ignore: decorator
@lazy const POW10_U64 = memory.data<u64>([
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000, 1000000000000,
  10000000000000, 100000000000000, 1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
  10000000000000000000,
]);

/** 10^i as an exact f64, for 0 <= i <= 22. */
// @ts-ignore: decorator
@inline export function pow10f(i: i32): f64 {
  return load<f64>(POW10_F64 + ((<usize>i) << 3));
}

/** 10^i as a u64, for 0 <= i <= 19. */
// @ts-ignore: decorator
@inline export function pow10u(i: i32): u64 {
  return load<u64>(POW10_U64 + ((<usize>i) << 3));
}

export const TWO_POW_53: u64 = 9007199254740992;
export const TWO_POW_53_F: f64 = 9007199254740992.0;

// ---------------------------------------------------------------------------
// A small unsigned bignum in static memory (little-endian 32-bit limbs).

export const BIG_LIMBS: i32 = 192; // 6144 bits: above every intermediate these algorithms build

export class Big {
  ptr: usize;
  len: i32 = 0; // limbs in use; the value is 0 when len == 0

  constructor(ptr: usize) {
    this.ptr = ptr;
  }

  // @ts-ignore: decorator
  @inline limb(i: i32): u32 {
    return load<u32>(this.ptr + ((<usize>i) << 2));
  }

  // @ts-ignore: decorator
  @inline setLimb(i: i32, v: u32): void {
    store<u32>(this.ptr + ((<usize>i) << 2), v);
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
    memory.copy(this.ptr, o.ptr, (<usize>o.len) << 2);
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
@lazy export const BIG_A = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy export const BIG_B = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy export const BIG_R = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy export const BIG_S = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy export const BIG_MP = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy export const BIG_MM = new Big(memory.data(BIG_LIMBS << 2));
// @ts-ignore: decorator
@lazy export const BIG_T = new Big(memory.data(BIG_LIMBS << 2));
