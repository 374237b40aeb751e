import type { Redis } from 'ioredis';
import { isWrongType } from './redis-repair.js';
import { moduleRecordSchema, parseStored, type ClusterKeys, type ModuleRecord } from './protocol.js';

/** What agents need of a record to load it; false for anything else (not JSON, another shape, another Redis type). */
const VALID = `
local function valid(key)
  local raw = redis.pcall('GET', key)
  if type(raw) ~= 'string' then return false end
  local ok, record = pcall(cjson.decode, raw)
  return ok and type(record) == 'table' and type(record.taskType) == 'string' and type(record.hash) == 'string'
    and type(record.code) == 'string'
end`;
/** 1-based indexes of the keys that do not hold a loadable record. */
const FIND_UNLOADABLE = `${VALID}
local bad = {}
for i, key in ipairs(KEYS) do if not valid(key) then bad[#bad + 1] = i end end
return bad`;
/** Puts ARGV[1] at KEYS[1] if it still does not hold a loadable record (a client may have stored a new version). */
const PUT_BACK = `${VALID}
if valid(KEYS[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

/**
 * Task types' module records as the director read them when their jobs came in. Agents load each
 * type from its record, so one garbled later (a Redis user, a bad script) would leave the type's
 * jobs waiting with no swarmlet able to start: `verify` puts back the record this director read,
 * unless the key holds a loadable record again (a newer version stored by a client stands).
 */
export class ModuleRecords {
  /** By task type: the record's text as read. */
  private readonly read = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly k: ClusterKeys,
    private readonly warn: (topic: string, line: string) => void,
  ) {}

  /** The type's record; undefined when none is stored. Throws, naming the key and the fix, when it is unreadable. */
  async fetch(taskType: string): Promise<ModuleRecord | undefined> {
    const key = this.k.module(taskType);
    try {
      const raw = await this.redis.get(key).catch((error: unknown) => {
        throw isWrongType(error) ? new Error(`${key}: holds another Redis type`) : error;
      });
      const record = parseStored(moduleRecordSchema, raw, key);
      if (record && record.taskType !== taskType)
        throw new Error(`${key}: taskType: "${record.taskType}" is another type`);
      if (record) this.read.set(taskType, raw!);
      return record;
    } catch (error) {
      throw new Error(
        `${(error as Error).message}: the module record is unreadable, so agents cannot load ${taskType}. Fix: submit the job again (run --redis stores its modules again)`,
      );
    }
  }

  /** Puts back each record read before that no longer holds a loadable one (one script for the check). */
  async verify(): Promise<void> {
    const taskTypes = [...this.read.keys()];
    if (taskTypes.length === 0) return;
    const names = taskTypes.map((taskType) => this.k.module(taskType));
    const bad = (await this.redis.eval(FIND_UNLOADABLE, names.length, ...names)) as number[];
    for (const index of bad) {
      const [taskType, key] = [taskTypes[index - 1]!, names[index - 1]!];
      const problem = await this.problemOf(key);
      if ((await this.redis.eval(PUT_BACK, 1, key, this.read.get(taskType)!)) === 0) continue;
      this.warn(
        key,
        `${problem}: put back the record this director read (agents load ${taskType} from it). Fix: leave ${key} to run --redis; stop whatever writes it`,
      );
    }
  }

  /** What is wrong at `key`, in the words of the record's schema. */
  private async problemOf(key: string): Promise<string> {
    try {
      const raw = await this.redis.get(key);
      if (raw === null) return `${key}: missing`;
      parseStored(moduleRecordSchema, raw, key);
      return `${key}: not a loadable record`;
    } catch (error) {
      return isWrongType(error) ? `${key}: holds another Redis type` : (error as Error).message;
    }
  }
}
