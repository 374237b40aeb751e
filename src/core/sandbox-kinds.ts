/**
 * The sandboxes a swarmlet can run in (runtime/local/sandbox.ts launches them; README, Threat model). A node
 * advertises its kind, so the director and its users see what holds task code in on each node.
 */
export const SANDBOX_KINDS = ['bwrap', 'process', 'none'] as const;
export type SandboxKind = (typeof SANDBOX_KINDS)[number];
