//! Deterministic JSON-like messages for the permessage-deflate figures, shared by
//! `benches/ws_deflate.rs` and `examples/ws_bench_client.rs` (`--payload json`), which include
//! this file with `#[path]`.
//!
//! Each message is one JSON object of exactly the requested length, shaped like an application
//! event (an id, a type, a timestamp, a user, a list of order lines, a free-text note), with
//! keys repeated from message to message and values drawn from a seeded PRNG: the messages are
//! all different, as real traffic is, and compress the way such traffic does (the repeated keys
//! and vocabulary compress well, the random numbers and identifiers do not).

/// SplitMix64: small, fast, and the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const TYPES: &[&str] = &[
    "order.created",
    "order.updated",
    "order.cancelled",
    "trade.executed",
    "quote.update",
    "user.login",
    "cart.checkout",
    "inventory.adjusted",
];
const FIRST: &[&str] = &[
    "Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas",
    "Kwame", "Lena", "Mateo", "Nadia", "Oskar", "Priya",
];
const LAST: &[&str] = &[
    "Martin", "Rossi", "Novak", "Tanaka", "Okafor", "Schmidt", "Silva", "Dubois", "Kowalski",
    "Haddad", "Larsen", "Moreau",
];
const COUNTRIES: &[&str] = &["FR", "DE", "IT", "JP", "NG", "BR", "PL", "US", "IN", "SE"];
const STATUS: &[&str] = &["pending", "paid", "shipped", "delivered", "refunded"];
const TAGS: &[&str] = &[
    "red", "blue", "green", "xl", "m", "s", "sale", "new", "eco", "gift", "bulk", "promo",
];
const WORDS: &[&str] = &[
    "please",
    "deliver",
    "to",
    "the",
    "back",
    "door",
    "after",
    "six",
    "call",
    "before",
    "arrival",
    "fragile",
    "items",
    "inside",
    "leave",
    "with",
    "neighbour",
    "if",
    "nobody",
    "is",
    "home",
    "thanks",
    "a",
    "lot",
    "for",
    "quick",
    "service",
    "order",
    "again",
    "soon",
];

/// One message of exactly `size` bytes (valid JSON for every `size`: below 24 bytes it is a
/// run of digits, a JSON number).
pub fn json_message(rng: &mut Rng, size: usize) -> Vec<u8> {
    let mut s = String::with_capacity(size + 128);
    // The smallest object below: `{"id":N,"note":""}`; smaller sizes get a number.
    if size < 24 {
        return (0..size).map(|i| b'1' + (i % 9) as u8).collect();
    }
    const TAIL: &str = "],\"note\":\"\"}";
    s.push_str(&format!(
        "{{\"id\":{},\"type\":\"{}\",\"ts\":{},\"status\":\"{}\",\
         \"user\":{{\"id\":\"u_{:08x}\",\"name\":\"{} {}\",\"country\":\"{}\",\"vip\":{}}},\
         \"total\":{}.{:02},\"currency\":\"EUR\",\"items\":[",
        rng.below(10_000_000),
        rng.pick(TYPES),
        1_732_550_400_000 + rng.below(86_400_000),
        rng.pick(STATUS),
        rng.next_u64() as u32,
        rng.pick(FIRST),
        rng.pick(LAST),
        rng.pick(COUNTRIES),
        rng.below(2) == 0,
        rng.below(5000),
        rng.below(100),
    ));
    if s.len() + TAIL.len() > size {
        // Too small for the header: just an id and a note.
        s.clear();
        s.push_str(&format!("{{\"id\":{}", rng.below(10)));
        s.push_str(",\"note\":\"");
        fill_words(rng, &mut s, size - 2);
        s.push_str("\"}");
        debug_assert_eq!(s.len(), size);
        return s.into_bytes();
    }
    let mut first = true;
    loop {
        let mut item = String::with_capacity(128);
        if !first {
            item.push(',');
        }
        item.push_str(&format!(
            "{{\"sku\":\"SKU-{:06}\",\"qty\":{},\"price\":{}.{:02},\"tags\":[\"{}\",\"{}\"]}}",
            rng.below(1_000_000),
            1 + rng.below(20),
            rng.below(500),
            rng.below(100),
            rng.pick(TAGS),
            rng.pick(TAGS),
        ));
        // Keep at least a few words of note.
        if s.len() + item.len() + TAIL.len() + 16 > size {
            break;
        }
        s.push_str(&item);
        first = false;
    }
    s.push_str("],\"note\":\"");
    fill_words(rng, &mut s, size - 2);
    s.push_str("\"}");
    debug_assert_eq!(s.len(), size);
    s.into_bytes()
}

/// Appends space-separated words until `s` is `len` bytes long (the last word cut to fit).
fn fill_words(rng: &mut Rng, s: &mut String, len: usize) {
    let mut first = true;
    while s.len() < len {
        if !first {
            s.push(' ');
        }
        first = false;
        let w = rng.pick(WORDS);
        let room = len - s.len();
        s.push_str(&w[..w.len().min(room)]);
    }
}

/// `n` different messages of `size` bytes from the PRNG seeded with `seed`.
pub fn json_messages(seed: u64, n: usize, size: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| json_message(&mut rng, size)).collect()
}
