// Where the timeline puts each decision, and when each swarmlet's row ends.

const ENDING_KINDS = new Set(['deprovision', 'consolidate', 'reclaim']);
/** A swarmlet started this long before its replicate/prewarm decision was logged is still "the one it started". */
const START_SLACK_MS = 50;

/**
 * Decisions by the swarmlet row they are drawn on: their own swarmlet when named, otherwise (replicate, prewarm of a
 * new one) the first swarmlet of that type started at or right after the decision, each claimed once.
 */
export function placeMarks(swarmlets, decisions) {
  const bySwarmlet = new Map();
  const add = (id, decision) => {
    const list = bySwarmlet.get(id);
    if (list) list.push(decision);
    else bySwarmlet.set(id, [decision]);
  };
  const startsByType = new Map();
  for (const s of swarmlets) {
    const type = s.served[0]?.taskType ?? s.taskType;
    const list = startsByType.get(type);
    if (list) list.push(s);
    else startsByType.set(type, [s]);
  }
  const next = new Map();
  for (const decision of decisions) {
    if (decision.swarmletId !== undefined) {
      add(decision.swarmletId, decision);
      continue;
    }
    const candidates = startsByType.get(decision.taskType);
    if (!candidates) continue;
    let i = next.get(decision.taskType) ?? 0;
    while (i < candidates.length && candidates[i].startedAtMs < decision.atMs - START_SLACK_MS) i++;
    if (i === candidates.length) continue;
    add(candidates[i].id, decision);
    next.set(decision.taskType, i + 1);
  }
  return { bySwarmlet };
}

/**
 * When each stopped swarmlet's row ends: the decision that stopped it, or else when this page first saw it stopped.
 * Live swarmlets have no end (their row runs to now), nor do stopped ones while the server's time is unknown.
 */
export function stopTimes(swarmlets, previous, nowMs) {
  const ends = new Map();
  for (const s of swarmlets) {
    if (s.state !== 'stopped') continue;
    const ending = s.morphs.findLast((m) => ENDING_KINDS.has(m.kind));
    const end = ending?.atMs ?? previous.get(s.id) ?? nowMs;
    if (end !== undefined) ends.set(s.id, end);
  }
  return ends;
}
