//! Route-rule selection with 10, 1,000 and 10,000 rules.
//!
//! `cargo bench --bench routes` (see docs/PERFORMANCE.md). The rules are a
//! mix of literal, `*`, `**` (trailing and leading) and method rules, with
//! one more rule at the end that the request matches: the worst case for
//! walking the rules in order. Groups:
//! - `routes/compiled/<n>`: the compiled rules the layer uses;
//! - `routes/walk/<n>`: the same request, walking the rules one by one;
//! - `routes/miss/<n>`: the compiled rules on a path no rule matches;
//! - `routes/build/<n>`: compiling the rules (once, at `build()`).
//!
//! Before the benchmarks it prints the heap the compiled rules hold, counted
//! by a counting global allocator (bytes live after compiling minus before,
//! and the peak while compiling), and the heap allocations per selection.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group};
use http::{HeaderMap, Method, Uri};
use tower_mfa::__fuzz::Routes;
use tower_mfa::Rule;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

fn grow(bytes: usize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// Delegates to the system allocator and counts live bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        grow(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SIZES: [usize; 3] = [10, 1_000, 10_000];
const HIT: &str = "/v1/customers/42/orders/7";
const MISS: &str = "/partner/v1/unknown/a/b";

/// `n` rules: `n - 1` of the mix, then the one [`HIT`] matches.
fn rules(n: usize) -> Vec<Rule> {
    let mut rules: Vec<Rule> = (0..n - 1)
        .map(|i| match i % 5 {
            0 => Rule::mfa(&format!("/partner/v1/customers{i}")),
            1 => Rule::authenticated(&format!("/partner/v1/customers{i}/*/orders")),
            2 => Rule::mfa(&format!("/partner/v1/resource{i}/**")),
            3 => Rule::public(&format!("/partner/*/items{i}/*")).method(Method::POST),
            _ => Rule::authenticated(&format!("/**/report{i}")),
        })
        .collect();
    rules.push(Rule::mfa("/v1/customers/*/orders/**").method(Method::GET));
    rules
}

fn compile(rules: Vec<Rule>) -> Routes {
    Routes::new(rules).expect("fewer than 2^32 rules")
}

fn memory() {
    for n in SIZES {
        let rules = rules(n);
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let routes = compile(rules);
        let held = LIVE.load(Ordering::Relaxed) - before;
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let rules_bytes = {
            let before = LIVE.load(Ordering::Relaxed);
            let again = self::rules(n);
            let bytes = LIVE.load(Ordering::Relaxed) - before;
            drop(again);
            bytes
        };
        println!(
            "routes/memory/{n}: compiled rules hold {held} bytes ({} per rule), \
             peak {peak} bytes while compiling; the rules themselves {rules_bytes} bytes",
            held / n
        );
        let headers = HeaderMap::new();
        let long = "/partner/v1/resource2/x".repeat(50);
        for path in [HIT, MISS, &long] {
            let uri: Uri = path.parse().expect("uri");
            let before = CALLS.load(Ordering::Relaxed);
            for _ in 0..1000 {
                std::hint::black_box(routes.select(&Method::GET, path, &uri, &headers));
            }
            let calls = CALLS.load(Ordering::Relaxed) - before;
            println!(
                "routes/allocations/{n}: {} per selection of a {}-segment path",
                calls as f64 / 1000.0,
                path.split('/').count() - 1
            );
        }
        drop(routes);
    }
}

fn bench(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let hit: Uri = HIT.parse().expect("uri");
    let miss: Uri = MISS.parse().expect("uri");
    let mut group = c.benchmark_group("routes");
    for n in SIZES {
        let routes = compile(rules(n));
        assert_eq!(
            routes.select(&Method::GET, HIT, &hit, &headers),
            Some(n - 1)
        );
        assert_eq!(
            routes.reference(&Method::GET, HIT, &hit, &headers),
            Some(n - 1)
        );
        assert_eq!(routes.select(&Method::GET, MISS, &miss, &headers), None);
        group.bench_function(BenchmarkId::new("compiled", n), |b| {
            b.iter(|| routes.select(&Method::GET, HIT, &hit, &headers))
        });
        group.bench_function(BenchmarkId::new("walk", n), |b| {
            b.iter(|| routes.reference(&Method::GET, HIT, &hit, &headers))
        });
        group.bench_function(BenchmarkId::new("miss", n), |b| {
            b.iter(|| routes.select(&Method::GET, MISS, &miss, &headers))
        });
        let source = rules(n);
        group.bench_function(BenchmarkId::new("build", n), |b| {
            b.iter_batched(|| source.clone(), compile, BatchSize::LargeInput)
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
