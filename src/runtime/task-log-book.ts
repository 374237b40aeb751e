/**
 * What tasks print, kept for reading: the last lines of each swarmlet and of each micro-task, bounded in every
 * direction (lines per swarmlet and per micro-task, how many swarmlets and micro-tasks are kept, least recently
 * written forgotten first). Lines arrive already cut at 4096 chars (local/swarmlet-output.ts), so the book's memory is
 * bounded by its limits whatever a task prints. Pure: the caller gives the time.
 *
 * A line is the micro-task's when it starts with the host's `[label] ` (local/host-output.ts); the label is the
 * micro-task's id as its task sees it (`context.id`). Labels are unique within a job, not across jobs: two jobs'
 * micro-tasks with one label share a ring (each line still says its swarmlet).
 */
export interface TaskLogLine {
  readonly atMs: number;
  readonly swarmletId: string;
  readonly microTaskId?: string;
  readonly line: string;
}

export type TaskLogQuery = { readonly swarmletId: string } | { readonly microTaskId: string };

export interface TaskLogLimits {
  readonly linesPerSwarmlet: number;
  readonly linesPerMicroTask: number;
  readonly swarmlets: number;
  readonly microTasks: number;
}

export const DEFAULT_TASK_LOG_LIMITS: TaskLogLimits = {
  linesPerSwarmlet: 200,
  linesPerMicroTask: 50,
  swarmlets: 64,
  microTasks: 1_000,
};

/** The last `capacity` lines, oldest first when read. */
class Ring {
  private readonly slots: TaskLogLine[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(line: TaskLogLine): void {
    if (this.slots.length < this.capacity) this.slots.push(line);
    else this.slots[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
  }

  read(): TaskLogLine[] {
    if (this.slots.length < this.capacity) return [...this.slots];
    return [...this.slots.slice(this.next), ...this.slots.slice(0, this.next)];
  }
}

const LABEL = /^\[([^\]]+)\] /;

/** The job (its id embedded, its key in the cluster) of the micro-task with this label a swarmlet holds. */
export type JobOfLabel = (label: string) => number | string | undefined;

/**
 * A printed line attributed: to its micro-task when it starts with the host's `[label] ` (`<job>:<label>` when `jobOf`
 * knows the job, the bare label otherwise), always to its swarmlet.
 */
export function taskLogLine(atMs: number, swarmletId: string, text: string, jobOf?: JobOfLabel): TaskLogLine {
  const label = LABEL.exec(text);
  if (!label) return { atMs, swarmletId, line: text };
  const jobId = jobOf?.(label[1]!);
  return {
    atMs,
    swarmletId,
    microTaskId: jobId === undefined ? label[1]! : `${jobId}:${label[1]}`,
    line: text.slice(label[0].length),
  };
}

export class TaskLogBook {
  private readonly swarmlets = new Map<string, Ring>();
  private readonly microTasks = new Map<string, Ring>();

  constructor(private readonly limits: TaskLogLimits = DEFAULT_TASK_LOG_LIMITS) {}

  /**
   * One line a swarmlet printed, as its host wrote it (with the micro-task's `[label] ` when one was running). `jobOf`
   * names the job of the labelled micro-task the swarmlet holds: its id is then `<job>:<label>`, unique across jobs.
   */
  record(atMs: number, swarmletId: string, text: string, jobOf?: JobOfLabel): void {
    this.keep(taskLogLine(atMs, swarmletId, text, jobOf));
  }

  /** A line already attributed (taskLogLine). */
  keep(line: TaskLogLine): void {
    ringOf(this.swarmlets, line.swarmletId, this.limits.linesPerSwarmlet, this.limits.swarmlets).push(line);
    if (line.microTaskId !== undefined)
      ringOf(this.microTasks, line.microTaskId, this.limits.linesPerMicroTask, this.limits.microTasks).push(line);
  }

  /** The kept lines of a swarmlet or of a micro-task, oldest first (none: an empty list). */
  lines(query: TaskLogQuery): TaskLogLine[] {
    const ring = 'swarmletId' in query ? this.swarmlets.get(query.swarmletId) : this.microTasks.get(query.microTaskId);
    return ring?.read() ?? [];
  }

  /** How many swarmlets and micro-tasks have lines kept (for tests: memory is bounded by them). */
  get kept(): { readonly swarmlets: number; readonly microTasks: number } {
    return { swarmlets: this.swarmlets.size, microTasks: this.microTasks.size };
  }
}

/** The key's ring, made most recently used; the least recently used one goes when there are too many. */
function ringOf(rings: Map<string, Ring>, key: string, capacity: number, most: number): Ring {
  let ring = rings.get(key);
  if (ring !== undefined) rings.delete(key);
  else {
    ring = new Ring(capacity);
    if (rings.size >= most) rings.delete(rings.keys().next().value!);
  }
  rings.set(key, ring);
  return ring;
}
