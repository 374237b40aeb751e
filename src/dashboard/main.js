// The dashboard's wiring: the token, the first reads, the live feed. Views only draw what they are given.
import { createApi, takeToken } from './api.js';
import { DecisionLog } from './decision-log.js';
import { createDecisionFeed } from './decisions.js';
import { createForecasts } from './forecasts.js';
import { createJobs } from './jobs.js';
import { createNodes } from './nodes.js';
import { createOverview } from './overview.js';
import { serverClock } from './server-clock.js';
import { createTimeline } from './timeline.js';

/** Decisions kept in the page: enough for the feed and the timeline's marks, bounded whatever the run's length. */
const DECISIONS_KEPT = 2000;

const api = createApi(takeToken());
const section = (id) => document.getElementById(id);
const log = new DecisionLog(DECISIONS_KEPT);
const overview = createOverview(section('overview'));
const jobs = createJobs(section('jobs'), api);
const timeline = createTimeline(section('timeline'), log);
const feed = createDecisionFeed(section('decisions'), log);
const forecasts = createForecasts(section('forecasts'));
const nodes = createNodes(section('nodes'));

function addDecisions(decisions) {
  if (!log.add(decisions)) return;
  timeline.requestDraw();
  feed.update();
}

/** One read at start (the live feed then sends what changes). */
function readOnce(path, show) {
  api.get(path).then(show, (error) => console.warn(`${path}: ${error.message}`));
}

function showLiveState(state) {
  const badge = document.querySelector('[data-testid="live-state"]');
  badge.dataset.state = state;
  badge.lastElementChild.textContent = state;
  // The feed starts from "now" on each connection: fetch what was logged while it was away.
  if (state === 'live') api.decisionsAfter(log.lastSeq).then(addDecisions, () => {});
}

api.events(
  {
    status: (status) => {
      serverClock.observe(status.nowMs);
      overview.showStatus(status);
      timeline.requestDraw();
    },
    jobs: ({ jobs: list }) => jobs.show(list),
    decision: (decision) => addDecisions([decision]),
    anomaly: (anomaly) => forecasts.addAnomalies([anomaly]),
    // Sent when they changed (swarmlets every second at most, forecasts and nodes every 2 s).
    swarmlets: ({ swarmlets }) => timeline.showSwarmlets(swarmlets),
    forecasts: ({ forecasts: list }) => forecasts.show(list),
    nodes: ({ nodes: list }) => nodes.show(list),
  },
  showLiveState,
);
api.get('/api/jobs').then(
  ({ jobs: list }) => jobs.show(list),
  () => {},
);
api.get('/api/anomalies').then(
  ({ anomalies }) => forecasts.resetAnomalies(anomalies),
  () => {},
);
readOnce('/api/swarmlets', ({ swarmlets }) => timeline.showSwarmlets(swarmlets));
readOnce('/api/forecasts', ({ forecasts: list }) => forecasts.show(list));
readOnce('/api/nodes', ({ nodes: list }) => nodes.show(list));
