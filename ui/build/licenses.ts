// The About panel's third-party licences, gathered at build time by maintained tools:
// rollup-plugin-license for the npm packages that end up in the bundle, cargo-about for the Rust
// crates compiled into the app. Both land in one module beside the chunks (see
// src/lib/licenses.ts), loaded only when About asks for it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import license, { type Dependency } from 'rollup-plugin-license';
import type { Plugin } from 'vite';
import { LICENCES_MODULE, type LicenceGroup, type ThirdPartyLicences } from '../src/lib/licenses.ts';

const run = promisify(execFile);

/** `workspace`: the repository root, where Cargo.lock and .tools/ live. */
export function thirdPartyLicences(workspace: string): Plugin[] {
  let npm: Dependency[] = [];
  let rust: Promise<LicenceGroup[]> | null = null;
  let assetsDir = 'assets';
  return [
    {
      ...(license({ thirdParty: (dependencies) => void (npm = dependencies) }) as Plugin),
      apply: 'build',
    },
    {
      name: 'ito:third-party-licences',
      apply: 'build',
      configResolved(config) {
        assetsDir = config.build.assetsDir;
      },
      buildStart() {
        // cargo-about runs while the bundle is built.
        rust = rustLicences(workspace);
        rust.catch(() => undefined);
      },
      async generateBundle() {
        if (!rust) throw new Error('the Rust licences were never asked for');
        const licences: ThirdPartyLicences = { rust: await rust, npm: npmGroups(npm) };
        this.emitFile({
          type: 'asset',
          fileName: join(assetsDir, basename(LICENCES_MODULE)),
          source: `export default ${JSON.stringify(licences)};\n`,
        });
      },
    },
  ];
}

function npmGroups(dependencies: Dependency[]): LicenceGroup[] {
  const groups = dependencies.map((d) => {
    const name = `${d.name ?? '?'} ${d.version ?? '?'}`;
    if (!d.license || !d.licenseText) {
      throw new Error(`${name}: no licence or licence file in its package; the About panel cannot list it`);
    }
    const text = d.noticeText ? `${d.licenseText.trim()}\n\n${d.noticeText.trim()}` : d.licenseText.trim();
    return { licence: d.license, text, components: [name] };
  });
  return merge(groups);
}

/** Groups sharing one licence and one text become one. */
function merge(groups: LicenceGroup[]): LicenceGroup[] {
  const byText = new Map<string, LicenceGroup>();
  for (const g of groups) {
    const key = `${g.licence}\n${g.text}`;
    const seen = byText.get(key);
    if (seen) seen.components.push(...g.components);
    else byText.set(key, { ...g, components: [...g.components] });
  }
  return [...byText.values()].sort((a, b) => a.licence.localeCompare(b.licence) || a.text.localeCompare(b.text));
}

/** cargo-about's JSON output (`--format json`), the parts used here. */
interface AboutOutput {
  licenses: { id: string; text: string; used_by: { crate: { name: string; version: string } }[] }[];
}

async function rustLicences(workspace: string): Promise<LicenceGroup[]> {
  const tool = cargoAbout(workspace);
  const version = await run(tool, ['--version']).then(
    (out) => out.stdout,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      throw new Error(
        'cargo-about is not installed: run scripts/setup.sh, or `cargo install cargo-about --features cli --locked`',
      );
    },
  );
  // The crates compiled for this machine, as the app being built is.
  const { stdout: rustc } = await run('rustc', ['-vV']);
  const host = /^host: (\S+)$/m.exec(rustc)?.[1];
  if (!host) throw new Error(`rustc -vV names no host target: ${rustc}`);
  // The dependency graph is in Cargo.lock and the manifests: unchanged, the answer is too.
  const hash = createHash('sha256').update(version).update(host);
  for (const file of cargoInputs(workspace)) hash.update(file).update(readFileSync(file));
  const cache = join(workspace, 'ui/node_modules/.cache/third-party-licenses', `${hash.digest('hex')}.json`);
  if (existsSync(cache)) return JSON.parse(await readFile(cache, 'utf8')) as LicenceGroup[];

  const { stdout } = await run(
    tool,
    [
      'about',
      'generate',
      '--format',
      'json',
      '--fail',
      '--locked',
      '--target',
      host,
      '--config',
      join(workspace, 'packaging/about.toml'),
      '--manifest-path',
      join(workspace, 'src-tauri/Cargo.toml'),
    ],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  const about = JSON.parse(stdout) as AboutOutput;
  const groups = merge(
    about.licenses.map((l) => ({
      licence: l.id,
      text: l.text.trim(),
      components: [...new Set(l.used_by.map((u) => `${u.crate.name} ${u.crate.version}`))].sort(),
    })),
  );
  await mkdir(dirname(cache), { recursive: true });
  await writeFile(cache, JSON.stringify(groups));
  return groups;
}

/** The copy scripts/setup.sh installs into .tools, else one on the PATH. */
function cargoAbout(workspace: string): string {
  const local = ['cargo-about', 'cargo-about.exe'].map((name) => join(workspace, '.tools/bin', name));
  return local.find((path) => existsSync(path)) ?? 'cargo-about';
}

/** The files that decide which crates the app is built from, and the licence policy. */
function cargoInputs(workspace: string): string[] {
  const manifests = ['Cargo.toml', 'Cargo.lock', 'packaging/about.toml', 'src-tauri/Cargo.toml'];
  const crates = join(workspace, 'crates');
  for (const name of readdirSync(crates)) manifests.push(join('crates', name, 'Cargo.toml'));
  return manifests.map((m) => join(workspace, m)).filter((f) => existsSync(f));
}
