import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { lowerBoundMs, workflowBounds } from '../src/sim/workflow/bounds.js';
import {
  loadWorkflowFile,
  loadWorkflows,
  parseWorkflow,
  typeOf,
  WorkflowFileError,
  type Workflow,
} from '../src/sim/workflow/load.js';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/wfcommons');
const SRA = join(FIXTURES, 'srasearch-chameleon-10a-001.json');
const GENOME = join(FIXTURES, '1000genome-chameleon-2ch-100k-001-cut.json');
const MONTAGE = join(FIXTURES, 'montage-chameleon-2mass-02d-001-cut.json');

const tempDirs: string[] = [];
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmlet-wf-'));
  tempDirs.push(dir);
  return dir;
}

function task(workflow: Workflow, id: string) {
  const found = workflow.tasks.find((t) => t.id === id);
  if (!found) throw new Error(`no task ${id}`);
  return found;
}

describe('loading WfFormat 1.5 instances', () => {
  it('reads tasks, types, parents, runtime, CPU and memory (srasearch, whole instance)', async () => {
    const workflow = await loadWorkflowFile(SRA);
    expect(workflow.name).toBe('srasearch-chameleon-10a-001');
    expect(workflow.family).toBe('srasearch');
    expect(workflow.types).toEqual(['bowtie2-build', 'fasterq-dump', 'bowtie2', 'merge']);
    expect(workflow.tasks).toHaveLength(22);
    expect(workflow.recordedMakespanMs).toBe(3_488_000);
    const dump = task(workflow, 'fasterq-dump_ID0000002');
    expect(dump.type).toBe('fasterq-dump');
    expect(dump.runtimeMs).toBeCloseTo(896_867, 6);
    expect(dump.cpuCores).toBeCloseTo(0.035286, 9);
    expect(dump.memoryMb).toBeCloseTo(324_392_000 / 1_048_576, 9);
    const bowtie = task(workflow, 'bowtie2_ID0000003');
    expect(bowtie.parents.map((p) => workflow.tasks[p]!.id)).toEqual([
      'bowtie2-build_ID0000001',
      'fasterq-dump_ID0000002',
    ]);
    const merge = task(workflow, 'merge_ID0000022');
    expect(merge.parents).toHaveLength(10);
    expect(merge.children).toEqual([]);
    expect(task(workflow, 'bowtie2-build_ID0000001').children).toHaveLength(10);
    expect(workflow.notes).toEqual({ zeroRuntimeTaskIds: [], missingCpu: 0, missingMemory: 0 });
    // Parents come before children in the topological order.
    const position = new Map(Array.from(workflow.order, (i, k) => [i, k]));
    for (const [i, t] of workflow.tasks.entries())
      for (const p of t.parents) expect(position.get(p)!).toBeLessThan(position.get(i)!);
  });

  it('counts runtimes recorded as 0 and missing CPU and memory (montage cut)', async () => {
    const workflow = await loadWorkflowFile(MONTAGE);
    expect(workflow.family).toBe('montage');
    expect(workflow.notes.zeroRuntimeTaskIds).toEqual([
      'mImgtbl_ID0000204',
      'mAdd_ID0000205',
      'mViewer_ID0000206',
      'mAdd_ID0000411',
      'mViewer_ID0000619',
    ]);
    expect(workflow.notes.missingCpu).toBe(5);
    expect(workflow.notes.missingMemory).toBe(5);
    const add = task(workflow, 'mAdd_ID0000205');
    expect(add.runtimeMs).toBe(0);
    expect(add.cpuCores).toBeUndefined();
    expect(add.memoryMb).toBeUndefined();
    expect(add.parents.map((p) => workflow.tasks[p]!.id)).toEqual([
      'mBackground_ID0000174',
      'mBackground_ID0000175',
      'mImgtbl_ID0000204',
    ]);
    expect(task(workflow, 'mBackground_ID0000174').runtimeMs).toBeCloseTo(146, 9);
  });

  it('keeps CPU above one core and counts a family without memory (1000genome cut)', async () => {
    const workflow = await loadWorkflowFile(GENOME);
    expect(workflow.types).toEqual(['individuals', 'individuals_merge', 'sifting', 'mutation_overlap', 'frequency']);
    expect(workflow.notes.missingMemory).toBe(14);
    expect(task(workflow, 'individuals_ID0000001').cpuCores).toBeCloseTo(1.608619, 9);
  });

  it('loads every .json of a directory in name order, README aside', async () => {
    const workflows = await loadWorkflows(FIXTURES);
    expect(workflows.map((w) => w.name)).toEqual([
      '1000genome-chameleon-2ch-100k-001-cut',
      'montage-chameleon-2mass-02d-001-cut',
      'srasearch-chameleon-10a-001',
    ]);
    expect((await loadWorkflows(SRA)).map((w) => w.name)).toEqual(['srasearch-chameleon-10a-001']);
  });

  it('takes the type from the name without its _ID suffix', () => {
    expect(typeOf('mProject_ID0000001')).toBe('mProject');
    expect(typeOf('bowtie2-build_ID0000001')).toBe('bowtie2-build');
    expect(typeOf('individuals_merge_ID0000011')).toBe('individuals_merge');
    expect(typeOf('plain')).toBe('plain');
  });

  it('gives the critical path, the total work and the lower bound', async () => {
    const workflow = await loadWorkflowFile(SRA);
    const bounds = workflowBounds(workflow);
    // fasterq-dump_ID0000020 → bowtie2_ID0000021 → merge is the longest chain.
    expect(bounds.criticalPathMs).toBeCloseTo(921_240 + 84_503 + 115, 6);
    const work = workflow.tasks.reduce((sum, t) => sum + t.runtimeMs, 0);
    expect(bounds.totalWorkMs).toBeCloseTo(work, 6);
    expect(lowerBoundMs(bounds, 1)).toBeCloseTo(work, 6);
    expect(lowerBoundMs(bounds, 128)).toBeCloseTo(bounds.criticalPathMs, 6);
    expect(bounds.upwardRankMs[workflow.tasks.findIndex((t) => t.id === 'merge_ID0000022')]).toBeCloseTo(115, 6);
    expect(() => lowerBoundMs(bounds, 0)).toThrow(/slots = 0/);
  });
});

describe('refusing bad workflow files', () => {
  async function good(): Promise<{ workflow: Record<string, Record<string, Record<string, unknown>[]>> }> {
    return JSON.parse(await readFile(SRA, 'utf8'));
  }
  type Doc = Awaited<ReturnType<typeof good>>;
  const spec = (doc: Doc) => doc.workflow.specification!.tasks as unknown as Record<string, unknown>[];
  const exec = (doc: Doc) => doc.workflow.execution!.tasks as unknown as Record<string, unknown>[];

  const cases: [string, (doc: Doc) => void, RegExp][] = [
    [
      'a runtime that is not a number',
      (doc) => (exec(doc)[3]!.runtimeInSeconds = 'abc'),
      /bad\.json: workflow\.execution\.tasks\[3\]\.runtimeInSeconds: .*"abc".*Fix: record the runtime in seconds/,
    ],
    ['a negative runtime', (doc) => (exec(doc)[0]!.runtimeInSeconds = -1), /tasks\[0\]\.runtimeInSeconds: .*got -1/],
    ['a negative avgCPU', (doc) => (exec(doc)[1]!.avgCPU = -5), /tasks\[1\]\.avgCPU: .*got -5.*Fix: record avgCPU/],
    [
      'missing parents',
      (doc) => delete spec(doc)[2]!.parents,
      /bad\.json: workflow\.specification\.tasks\[2\]\.parents: is missing\. Fix: list the ids/,
    ],
    [
      'a parent that is not a task',
      (doc) => (spec(doc)[2]!.parents = ['nope_ID1']),
      /tasks\[2\]\.parents\[0\]: names "nope_ID1", which is not a task/,
    ],
    [
      'a duplicate id',
      (doc) => (spec(doc)[1]!.id = 'bowtie2-build_ID0000001'),
      /tasks\[1\]\.id: duplicates the id "bowtie2-build_ID0000001" of tasks\[0\]/,
    ],
    [
      'a task without execution record',
      (doc) => exec(doc).splice(5, 1),
      /workflow\.specification\.tasks\[5\]: \("fasterq-dump_ID0000006"\) has no record in workflow\.execution\.tasks/,
    ],
    [
      'an execution record of no task',
      (doc) => (exec(doc)[4]!.id = 'ghost'),
      /workflow\.execution\.tasks\[4\]\.id: names "ghost", which is not in workflow\.specification\.tasks/,
    ],
    ['a cycle', (doc) => (spec(doc)[0]!.parents = ['merge_ID0000022']), /\.parents: \(".*"\) is on a dependency cycle/],
    [
      'another format version',
      (doc) => ((doc as Record<string, unknown>).schemaVersion = '1.4'),
      /schemaVersion: is "1\.4", not 1\.5/,
    ],
    [
      'another version with another layout',
      (doc) => {
        (doc as Record<string, unknown>).schemaVersion = '1.3';
        delete doc.workflow.specification;
      },
      /bad\.json: schemaVersion: is "1\.3", not 1\.5/,
    ],
    [
      'no version',
      (doc) => delete (doc as Record<string, unknown>).schemaVersion,
      /bad\.json: schemaVersion: is missing/,
    ],
    ['no tasks', (doc) => spec(doc).splice(0), /workflow\.specification\.tasks: .*Fix: give at least one task/],
    ['no workflow', (doc) => delete (doc as Partial<Doc>).workflow, /bad\.json: workflow: is missing/],
  ];

  it.each(cases)('%s', async (_label, corrupt, message) => {
    const doc = await good();
    corrupt(doc);
    let error: unknown;
    try {
      parseWorkflow(doc, 'bad.json');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(WorkflowFileError);
    expect(error).toBeInstanceOf(InputError);
    expect((error as WorkflowFileError).file).toBe('bad.json');
    expect((error as Error).message).toMatch(message);
  });

  it('takes a runtime left out as a measured zero', async () => {
    const doc = await good();
    delete exec(doc)[0]!.runtimeInSeconds;
    const workflow = parseWorkflow(doc, 'sra.json');
    expect(workflow.tasks[0]!.runtimeMs).toBe(0);
    expect(workflow.notes.zeroRuntimeTaskIds).toEqual(['bowtie2-build_ID0000001']);
  });

  it('names a file that is not JSON, a path that does not exist and a directory without .json', async () => {
    const dir = await tempDir();
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"workflow": ');
    await expect(loadWorkflows(dir)).rejects.toThrow(/broken\.json: \(file\): is not JSON/);
    await expect(loadWorkflows(join(dir, 'absent.json'))).rejects.toThrow(/absent\.json cannot be read \(ENOENT\)/);
    await expect(loadWorkflowFile(dir)).rejects.toThrow(/: \(file\): cannot be read \(EISDIR\)/);
    const empty = await tempDir();
    await writeFile(join(empty, 'notes.txt'), 'x');
    await expect(loadWorkflows(empty)).rejects.toThrow(/holds no \.json file/);
  });
});
