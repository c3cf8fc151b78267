// componentize.mjs CORE.wasm OUT.wasm...
//
// Turns Go reactor modules (GOOS=wasip1 -buildmode=c-shared) into
// wasi:http/proxy@0.2.12 components, the way `jco embed` and
// `jco new --wasi-reactor` do, with the WIT and the preview1 adapter that
// ship in the pinned @bytecodealliance/jco. `jco embed --wit DIR` cannot
// be used as is: its wasm-tools runs on preview2-shim with no preopened
// directory, so the WIT folder is preopened here first. componentNew
// checks every lowered import of the module against the WIT, so an ABI
// mistake in the bindings fails here, not at run time.
//
// Arguments come in pairs: core module, component to write.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const transpile = join(here, "node_modules/@bytecodealliance/jco-transpile");
const jco = join(here, "node_modules/@bytecodealliance/jco");
const shim = join(transpile, "node_modules/@bytecodealliance/preview2-shim/dist/nodejs/filesystem.js");
const builtin = join(jco, "lib/wit/builtin/0.2.12");
const world = "wasi:http/proxy@0.2.12";

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error("usage: node componentize.mjs CORE.wasm OUT.wasm [CORE.wasm OUT.wasm...]");
  process.exit(2);
}

// The WIT folder: wasi:http as the main package, the others as deps.
const wit = await mkdtemp(join(tmpdir(), "billing-wit-"));
try {
  await cp(join(builtin, "wasi-http"), wit, { recursive: true });
  for (const pkg of ["wasi-io", "wasi-clocks", "wasi-random", "wasi-cli", "wasi-filesystem", "wasi-sockets"]) {
    await mkdir(join(wit, "deps", pkg), { recursive: true });
    await cp(join(builtin, pkg), join(wit, "deps", pkg), { recursive: true });
  }
  const { _addPreopen } = await import(shim);
  _addPreopen(wit, wit);
  const { componentEmbed, componentNew } = await import(join(transpile, "dist/wasm-tools.js"));
  const adapter = await readFile(join(jco, "lib/wasi_snapshot_preview1.reactor.wasm"));
  for (let i = 0; i < args.length; i += 2) {
    const [core, out] = [args[i], args[i + 1]];
    const embedded = await componentEmbed({
      binary: await readFile(core),
      witPath: wit,
      world,
      metadata: [["processed-by", [["billing-componentize", "1"]]]],
    });
    const component = await componentNew(embedded, [["wasi_snapshot_preview1", adapter]]);
    await writeFile(out, component);
    console.log(`component ${out} (${component.length} bytes)`);
  }
} finally {
  await rm(wit, { recursive: true, force: true });
}
