import { HopwatchError, type ErrorCodeDoc } from '../errors.js'

export const STORE_ERRORS = {
  HW_STORE_OPEN: { meaning: 'the store could not be opened (embedded directory unusable, or the ClickHouse server unreachable)', fix: 'check --store DIR is writable, or that --clickhouse-url answers (curl URL/ping), and the user and password' },
  HW_STORE_LOCKED: { meaning: 'another process owns the embedded store directory', fix: 'hopwatch sql, analyze and load go through a running proxy that owns it by themselves; otherwise stop that process, use another --store DIR, or a ClickHouse server both share (--clickhouse-url)' },
  HW_STORE_MIGRATE: { meaning: 'creating or upgrading the schema failed', fix: 'read the ClickHouse error in the message; the user needs CREATE rights on the database' },
  HW_STORE_QUERY: { meaning: 'a query failed', fix: 'read the ClickHouse error in the message and correct the query' },
} as const satisfies Record<string, ErrorCodeDoc>

export type StoreErrorCode = keyof typeof STORE_ERRORS

export class StoreError extends HopwatchError<StoreErrorCode> {}
