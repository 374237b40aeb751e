// Jobs: one row per job, a bar per task type (done, running, total), state, deadline, error, and cancel.
import { duration, el, typeColor } from './format.js';

export function createJobs(root, api) {
  const list = root.querySelector('[data-testid="jobs"]');
  const rows = new Map();
  const hint = root.querySelector('[data-testid="token-hint"]');
  if (!api.hasToken) hint.textContent = 'read-only: open the address the server printed (…/#token=…) to cancel jobs';

  function show(jobs) {
    const seen = new Set();
    jobs.forEach((job, index) => {
      seen.add(job.id);
      let row = rows.get(job.id);
      if (!row) rows.set(job.id, (row = createRow(job, api)));
      row.update(job);
      if (list.children[index] !== row.node) list.insertBefore(row.node, list.children[index] ?? null);
    });
    for (const [id, row] of rows) {
      if (seen.has(id)) continue;
      row.node.remove();
      rows.delete(id);
    }
    if (jobs.length === 0) list.replaceChildren(el('p', { class: 'empty' }, 'No jobs yet.'));
    else list.querySelector(':scope > p.empty')?.remove();
  }
  return { show };
}

function createRow(job, api) {
  const title = el('span', { class: 'job-title' });
  const state = el('span', { class: 'state', 'data-testid': `job-state-${job.id}` });
  const facts = el('span', { class: 'job-facts' });
  const bars = el('div', { class: 'bars' });
  const error = el('div', { class: 'job-error', 'data-testid': `job-error-${job.id}`, hidden: true });
  const button = el('button', { 'data-testid': `cancel-${job.id}`, type: 'button' }, 'Cancel');
  const result = el('div', { class: 'cancel-result', 'data-testid': `cancel-result-${job.id}`, 'aria-live': 'polite' });
  const node = el(
    'article',
    { class: 'job', 'data-testid': `job-row-${job.id}` },
    el('div', { class: 'job-head' }, title, state, facts),
    el('div', { class: 'job-side' }, button, result),
    bars,
    error,
  );
  const typeBars = new Map();
  button.addEventListener('click', () => cancel(job.id, api, button, result));

  function update(view) {
    title.textContent = view.name ? `${view.name} · #${view.id}` : `#${view.id} ${view.label}`;
    state.textContent = view.state;
    state.className = `state ${view.state}`;
    node.dataset.state = view.state;
    facts.textContent = jobFacts(view);
    button.hidden = view.state !== 'running';
    error.hidden = !view.error;
    error.textContent = view.error ?? '';
    for (const progress of view.byType) {
      let bar = typeBars.get(progress.taskType);
      if (!bar) typeBars.set(progress.taskType, (bar = createBar(view.id, progress.taskType, bars)));
      bar(progress);
    }
  }
  return { node, update };
}

function jobFacts(job) {
  const parts = [`${job.done.toLocaleString('en-US')} / ${job.total.toLocaleString('en-US')} micro-tasks`];
  parts.push(`${duration(job.wallMs)}`);
  if (job.priority !== 'normal') parts.push(`${job.priority} priority`);
  if (job.deadlineMs !== undefined) {
    const verdict = job.deadlineMet === true ? 'met' : job.deadlineMet === false ? 'missed' : 'pending';
    parts.push(`deadline ${duration(job.deadlineMs)} (${verdict})`);
  }
  return parts.join(' · ');
}

function createBar(jobId, taskType, into) {
  const done = el('span', { class: 'done', style: `background:${typeColor(taskType)}` });
  const running = el('span', { class: 'running', style: `background:${typeColor(taskType)}` });
  const bar = el('div', { class: 'bar', 'data-testid': `type-bar-${jobId}-${taskType}` }, done, running);
  const label = el('span', { class: 'bar-count' });
  into.append(el('span', { class: 'bar-name', title: taskType }, taskType), bar, label);
  return ({ total, done: finished, running: active }) => {
    const share = (n) => (total === 0 ? 0 : (100 * n) / total);
    done.style.width = `${share(finished)}%`;
    running.style.left = `${share(finished)}%`;
    running.style.width = `${share(active)}%`;
    bar.dataset.done = String(finished);
    bar.dataset.running = String(active);
    bar.dataset.total = String(total);
    label.textContent = `${finished}${active ? ` +${active}` : ''} / ${total}`;
  };
}

async function cancel(jobId, api, button, result) {
  result.classList.remove('bad');
  if (!api.hasToken) {
    result.classList.add('bad');
    result.textContent =
      'Cancelling needs the token: open the address the server printed at start (it ends in #token=…).';
    return;
  }
  if (!confirm(`Cancel job #${jobId}? Its waiting micro-tasks are removed; other jobs go on.`)) return;
  button.disabled = true;
  result.textContent = 'cancelling…';
  try {
    const answer = await api.post(`/api/jobs/${encodeURIComponent(jobId)}/cancel`);
    result.textContent = answer.state === 'cancelled' ? 'cancelled' : `already ${answer.state}`;
  } catch (error) {
    result.classList.add('bad');
    result.textContent = error.message;
    button.disabled = false;
  }
}
