/** The Grafana dashboard as the tests read it: its panels' PromQL, and the metric names a query mentions. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_PATH = fileURLToPath(new URL('../../grafana/swarmlet-dashboard.json', import.meta.url));

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type: string; uid: string };
  readonly targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  readonly panels?: Panel[];
}

export interface Dashboard {
  readonly schemaVersion: number;
  readonly __inputs: { name: string; type: string; pluginId: string }[];
  readonly templating: { list: { name: string; query: { query: string } }[] };
  readonly panels: Panel[];
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as Dashboard;
}

/** Every panel, those inside rows included. */
export function allPanels(dashboard: Dashboard = loadDashboard()): Panel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export function dashboardQueries(dashboard: Dashboard = loadDashboard()): { panel: string; expr: string }[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
  );
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless']);

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers, grouping lists, ranges
 * and Grafana's variables are taken out, that call nothing and are no keyword.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names: string[] = [];
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    if (match[1] !== undefined || KEYWORDS.has(match[0])) continue;
    names.push(match[0]);
  }
  return names;
}
