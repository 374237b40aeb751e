import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defineTask } from 'swarmlet';

export interface IndexInput {
  /** When set, the full index (every file, every duplicate group) is written here as JSON. */
  readonly out?: string;
}

export interface DuplicateGroup {
  readonly sha256: string;
  readonly bytes: number;
  readonly paths: readonly string[];
}

export interface IndexSummary {
  readonly files: number;
  readonly bytes: number;
  readonly compressedBytes: number;
  /** compressedBytes / bytes (1 for an empty set). */
  readonly ratio: number;
  readonly duplicates: {
    /** Distinct contents held by more than one file. */
    readonly groups: number;
    /** Files that are a copy of an earlier one (group size − 1, summed). */
    readonly redundantFiles: number;
    readonly redundantBytes: number;
    /** The groups that waste the most bytes; the full list is in the `out` file. */
    readonly top: readonly DuplicateGroup[];
  };
  readonly written?: string;
}

interface FileEntry {
  readonly path: string;
  readonly bytes: number;
  readonly compressedBytes: number;
  readonly sha256: string;
}

/** Keeps the job's printed output small however many duplicates a tree holds. */
const TOP_DUPLICATE_GROUPS = 10;

/**
 * Stage 3: one micro-task that sees every compress output (through `ctx.deps`) and summarises
 * the run: sizes, overall ratio and files sharing a sha256. Writes only to `input.out`.
 */
export default defineTask<IndexInput, IndexSummary>({
  name: 'index',
  resources: { durationMs: 5 },
  run(input, ctx) {
    const entries = Object.entries(ctx.deps).map(([id, value]) => toEntry(id, value));
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    const compressedBytes = entries.reduce((sum, entry) => sum + entry.compressedBytes, 0);
    const groups = duplicateGroups(entries);
    const summary: IndexSummary = {
      files: entries.length,
      bytes,
      compressedBytes,
      ratio: bytes === 0 ? 1 : Math.round((compressedBytes / bytes) * 10_000) / 10_000,
      duplicates: {
        groups: groups.length,
        redundantFiles: groups.reduce((sum, group) => sum + group.paths.length - 1, 0),
        redundantBytes: groups.reduce((sum, group) => sum + group.bytes * (group.paths.length - 1), 0),
        top: groups.slice(0, TOP_DUPLICATE_GROUPS),
      },
    };
    if (input?.out === undefined) return summary;
    mkdirSync(dirname(input.out), { recursive: true });
    const { top: _top, ...totals } = summary.duplicates;
    writeFileSync(
      input.out,
      `${JSON.stringify({ ...summary, duplicates: { ...totals, all: groups }, entries }, null, 2)}\n`,
    );
    return { ...summary, written: input.out };
  },
});

function toEntry(id: string, value: unknown): FileEntry {
  const candidate = value as Partial<FileEntry> | null;
  if (
    typeof candidate?.path !== 'string' ||
    typeof candidate.bytes !== 'number' ||
    typeof candidate.compressedBytes !== 'number' ||
    typeof candidate.sha256 !== 'string'
  ) {
    throw new Error(
      `index: dependency ${id} did not produce a compress output ({ path, bytes, compressedBytes, sha256 }); make index depend on compress micro-tasks only`,
    );
  }
  return {
    path: candidate.path,
    bytes: candidate.bytes,
    compressedBytes: candidate.compressedBytes,
    sha256: candidate.sha256,
  };
}

/** Groups of files with the same content, most wasted bytes first (ties by hash, so output is stable). */
function duplicateGroups(entries: readonly FileEntry[]): DuplicateGroup[] {
  const byHash = new Map<string, FileEntry[]>();
  for (const entry of entries) {
    const group = byHash.get(entry.sha256);
    if (group) group.push(entry);
    else byHash.set(entry.sha256, [entry]);
  }
  const groups: DuplicateGroup[] = [];
  for (const [sha256, members] of byHash) {
    if (members.length > 1)
      groups.push({ sha256, bytes: members[0]!.bytes, paths: members.map((member) => member.path) });
  }
  const wasted = (group: DuplicateGroup): number => group.bytes * (group.paths.length - 1);
  return groups.sort((a, b) => wasted(b) - wasted(a) || (a.sha256 < b.sha256 ? -1 : 1));
}
