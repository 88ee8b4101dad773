import { MAX_REPORT_BYTES, type ReservedAnswer } from '../leaks/credential-revoke.js';

/** Handles a public leak report: the raw body and the client address after `trusted_proxies`. */
export type LeakReportHandler = (body: Buffer, clientAddress: string) => Promise<ReservedAnswer>;

/** The largest report the gateway reads; past it, 413 before any parsing. */
export const MAX_LEAK_REPORT_BYTES = MAX_REPORT_BYTES;
