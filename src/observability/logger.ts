import pino, { type Logger } from 'pino';

export type { Logger };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(text: string | undefined): LogLevel {
  if (text === undefined || text === '') return 'info';
  const found = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (found === undefined) {
    throw new Error(`PATGATE_LOG_LEVEL: "${text}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  return found;
}

/**
 * JSON lines on stdout. Tokens are never passed to the logger (the gateway logs
 * token ids and hashes only); `redact` is the second line of defence should a
 * header object ever reach a log call.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'patgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          'token',
          'headers.authorization',
          'req.headers.authorization',
          '*.authorization',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
