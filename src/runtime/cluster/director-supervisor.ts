import { ClusterDirector, type DirectorOptions } from './director.js';

/**
 * Keeps a director running for `swarmlet serve`. A director that steps down (its lease lost: another
 * director took the prefix, or the lease and its epoch were both garbled, so it cannot tell whether
 * one did) starts again from Redis, replaying the log as any new director does. If another director
 * really holds the prefix, that start waits for its lease and gives up with the usual clear error:
 * `done` rejects with it.
 */
export class DirectorSupervisor {
  /** Directors started after a step-down (for status displays and tests). */
  restarts = 0;
  readonly done: Promise<void>;
  private stopping = false;

  private constructor(
    private readonly options: DirectorOptions,
    private current: ClusterDirector,
  ) {
    this.done = this.watch();
    this.done.catch(() => undefined); // said by whoever awaits done; never an unhandled rejection
  }

  static async start(options: DirectorOptions): Promise<DirectorSupervisor> {
    return new DirectorSupervisor(options, await ClusterDirector.start(options));
  }

  /** The director acting now. */
  get director(): ClusterDirector {
    return this.current;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.current.stop();
    await this.done.catch(() => undefined);
  }

  private async watch(): Promise<void> {
    for (;;) {
      await this.current.done;
      if (this.stopping) return;
      this.restarts += 1;
      this.options.logger?.warn(
        {},
        'stepped down: starting again from the log (if another director holds the prefix, it gives up)',
      );
      this.current = await ClusterDirector.start(this.options);
      if (this.stopping) return this.current.stop();
    }
  }
}
