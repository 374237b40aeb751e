import cliProgress from 'cli-progress';
import type { ProgressView } from '../runtime/orchestrator.js';

/** Live progress on stderr: one bar per task type with done/total, rate and swarmlets. */
export class ProgressBars {
  private readonly multi: cliProgress.MultiBar;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly width: number;

  constructor(taskTypes: readonly string[]) {
    this.width = Math.max(...taskTypes.map((t) => t.length));
    this.multi = new cliProgress.MultiBar(
      {
        stream: process.stderr,
        format: ' {type} |{bar}| {value}/{total} · {rate}/s · {swarmlets} swarmlet(s)',
        hideCursor: true,
        clearOnComplete: false,
        barsize: 28,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(view: ProgressView): void {
    for (const type of view.taskTypes) {
      let bar = this.bars.get(type.taskType);
      const payload = {
        type: type.taskType.padEnd(this.width),
        rate: Math.round(type.ratePerSec),
        swarmlets: type.swarmlets,
      };
      if (!bar) {
        if (type.total === 0) continue;
        bar = this.multi.create(type.total, type.done, payload);
        this.bars.set(type.taskType, bar);
      }
      bar.setTotal(Math.max(1, type.total));
      bar.update(type.done, payload);
    }
  }

  stop(): void {
    this.multi.stop();
  }
}

/** Without a terminal, a line per type now and then (CI logs, pipes). */
export class ProgressLines {
  private lastAtMs = -Infinity;
  update(view: ProgressView): void {
    if (view.atMs - this.lastAtMs < 1000) return;
    this.lastAtMs = view.atMs;
    const parts = view.taskTypes
      .filter((t) => t.total > 0)
      .map((t) => `${t.taskType} ${t.done}/${t.total} (${Math.round(t.ratePerSec)}/s, ${t.swarmlets} swarmlets)`);
    if (parts.length > 0) process.stderr.write(`progress: ${parts.join(' · ')}\n`);
  }
  stop(): void {}
}
