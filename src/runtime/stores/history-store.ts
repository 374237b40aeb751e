import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { JobProfile } from '../../predict/job-profile.js';

/** What Swarmlet remembers between runs (embedded: a JSON file; cluster: Redis, later). */
export interface History {
  readonly version: 1;
  readonly jobs: Readonly<Record<string, JobProfile>>;
}

export const EMPTY_HISTORY: History = { version: 1, jobs: {} };

/** One interface, several stores; test/history-store.contract.ts runs against each. */
export interface HistoryStore {
  read(): Promise<History>;
  write(history: History): Promise<void>;
}

export class MemoryHistoryStore implements HistoryStore {
  private history: History = EMPTY_HISTORY;
  async read(): Promise<History> {
    return structuredClone(this.history);
  }
  async write(history: History): Promise<void> {
    this.history = structuredClone(history);
  }
}

const historySchema = z.object({
  version: z.literal(1),
  jobs: z.record(
    z.string(),
    z.object({
      runs: z.number().int().min(1),
      types: z.array(
        z.object({
          taskType: z.string(),
          firstDemandOffsetMs: z.number().min(0),
          peakSwarmlets: z.number().int().min(0),
        }),
      ),
    }),
  ),
});

/**
 * The embedded default: one JSON file, written atomically (temp file + rename) so a crash never
 * leaves half a history. A missing file is an empty history; a corrupt one is ignored with a
 * warning (history only makes runs faster, it never blocks one).
 */
export class FileHistoryStore implements HistoryStore {
  constructor(
    private readonly path: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  async read(): Promise<History> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return EMPTY_HISTORY;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = historySchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    this.warn(`history file ${this.path} is not valid; starting without history (delete it to silence this)`);
    return EMPTY_HISTORY;
  }

  async write(history: History): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(history, null, 2)}\n`);
    await rename(temporary, this.path);
  }
}
