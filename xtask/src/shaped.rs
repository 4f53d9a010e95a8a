//! Hostile fixture components whose shape no Rust guest can produce (several
//! linear memories), assembled here from a hand-built core module and the
//! real plugin world, so that the sandbox's limits are tested on a real
//! component rather than on the limiter alone.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection, MemoryType,
    Module, TypeSection, ValType,
};

/// Linear memories in `fixture-multi-memory`, each of [`MEMORY_MIB`].
pub const MEMORIES: u32 = 4;
/// Each memory's initial size: under the per-plugin cap alone, far over it
/// together.
pub const MEMORY_MIB: u64 = 200;

/// Write every shaped fixture into `out_dir`; returns their paths.
pub fn build(root: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let component = multi_memory(&root.join("wit/since_v0.1.0"))?;
    std::fs::create_dir_all(out_dir)?;
    let out = out_dir.join("fixture-multi-memory.wasm");
    let tmp = out.with_extension("wasm.tmp");
    std::fs::write(&tmp, crate::signed(root, &component)?)?;
    std::fs::rename(&tmp, &out)?;
    Ok(vec![out])
}

/// A plugin-world component whose core module declares [`MEMORIES`] memories
/// of [`MEMORY_MIB`] each. Its exports trap: if instantiation is ever
/// allowed, the scan shows a trap instead of the memory limit.
fn multi_memory(wit_dir: &Path) -> Result<Vec<u8>> {
    let mut module = Module::new();
    let mut types = TypeSection::new();
    // describe: () -> ret-ptr; scan: flattened scan-context -> ret-ptr;
    // cabi_realloc: (old, old-size, align, new-size) -> ptr.
    types.ty().function([], [ValType::I32]);
    types.ty().function(
        [ValType::I32, ValType::I32, ValType::I32, ValType::I32, ValType::I64, ValType::I32, ValType::I32],
        [ValType::I32],
    );
    types.ty().function([ValType::I32; 4], [ValType::I32]);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    for ty in 0..3 {
        funcs.function(ty);
    }
    module.section(&funcs);
    let mut memories = MemorySection::new();
    for _ in 0..MEMORIES {
        memories.memory(MemoryType {
            minimum: MEMORY_MIB * 1024 * 1024 / 65536,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }
    module.section(&memories);
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("describe", ExportKind::Func, 0);
    exports.export("scan", ExportKind::Func, 1);
    exports.export("cabi_realloc", ExportKind::Func, 2);
    module.section(&exports);
    let mut code = CodeSection::new();
    for _ in 0..3 {
        let mut f = Function::new([]);
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
        code.function(&f);
    }
    module.section(&code);
    let mut bytes = module.finish();

    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(wit_dir).with_context(|| format!("reading {}", wit_dir.display()))?;
    let world = resolve.select_world(&[pkg], Some("plugin"))?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, wit_component::StringEncoding::UTF8)?;
    wit_component::ComponentEncoder::default()
        .module(&bytes)
        .context("fixture-multi-memory: not a component-ready module")?
        .validate(true)
        .encode()
        .context("fixture-multi-memory: encoding the component")
}
