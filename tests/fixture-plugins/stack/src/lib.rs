//! Hostile fixture: recurses without end with scalar arguments only, so every
//! frame lives on the engine's native stack (wasm locals), not in linear
//! memory. The host must turn the overflow into a trap of this plugin alone,
//! never let it reach the fiber's guard page and abort the agent.
use plumbline_plugin_sdk::prelude::*;

struct Stack;

/// Not a tail call (the result is rotated and mixed after the call returns),
/// and the mix is not associative, so LLVM cannot turn it into a loop. No
/// local has its address taken, so nothing goes to the shadow stack.
#[inline(never)]
fn deep(n: u64, a: u64, b: u64, c: u64, d: u64) -> u64 {
    if n == 0 {
        return a ^ b ^ c ^ d;
    }
    let r = deep(
        n - 1,
        b.wrapping_add(n),
        c ^ a,
        d.rotate_left(3),
        a.wrapping_mul(31),
    );
    r.rotate_left((n % 13) as u32) ^ a.wrapping_sub(d)
}

impl Plugin for Stack {
    const NAME: &'static str = "fixture-stack";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    fn categories() -> Vec<Category> {
        vec![Category::WebhookReference]
    }
    fn scan(ctx: &ScanContext) -> Result<Report, ScanError> {
        // A depth the optimiser cannot know: far beyond any stack.
        let depth = u64::MAX - ctx.settings.len() as u64;
        let r = deep(depth, 1, 2, 3, ctx.settings.len() as u64);
        Err(ScanError::Other(format!(
            "returned {r}, which no stack allows"
        )))
    }
}

register_plugin!(Stack);
