/** Notices: email and webhook delivery, admin alerts, and the pacing of early warnings. */
import { z } from 'zod';

/** The variables of {@link NotifyConfig}. */
export const notifyEnv = z.object({
  SMTP_URL: z.string().url().optional().describe('SMTP server for email notices (smtp://user:pass@host:port); unset = no email'),
  SMTP_FROM: z.string().default('Headroom <headroom@localhost>').describe('From address of email notices'),
  WEBHOOK_SECRET: z.string().min(16).optional().describe('HMAC-SHA256 key signing webhooks; unset = random, kept in DATA_DIR/webhook-secret'),
  ADMIN_EMAIL: z.string().email().optional().describe('Where admin alerts (unknown volumes, failed deliveries) are emailed'),
  ADMIN_WEBHOOK_URL: z.string().url().optional().describe('Where admin alerts are posted'),
  NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8).describe('Delivery attempts before a notice is marked failed'),
  NOTIFY_BACKOFF_MS: z.coerce.number().int().min(1).default(30_000).describe('First retry delay; doubles with each attempt'),
  NOTIFY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000).describe('Webhook and SMTP timeout'),
  NOTIFY_POLL_MS: z.coerce.number().int().min(10).default(2000).describe('How often the dispatcher looks for due deliveries'),
  FORECAST_WARN_SOFT_DAYS: z.coerce.number().min(0).default(7).describe('Warn when the forecast says the soft limit is reached within this many days'),
  FORECAST_RESEND_CHANGE: z.coerce.number().min(0).default(0.25).describe('Re-send an early warning when the predicted time moved by more than this fraction of the time-to-full last sent…'),
  FORECAST_RESEND_SHIFT_HOURS: z.coerce.number().min(0).default(24).describe('…or by more than this many hours'),
  FORECAST_MAX_PER_DAY: z.coerce.number().int().min(1).default(2).describe('At most this many early warnings per volume in 24 hours'),
});

/** The slice of the app config this group fills. */
export interface NotifyConfig {
  readonly notify: {
    readonly smtpUrl?: string;
    readonly smtpFrom: string;
    readonly webhookSecret?: string;
    readonly adminEmail?: string;
    readonly adminWebhookUrl?: string;
    readonly maxAttempts: number;
    readonly backoffMs: number;
    readonly timeoutMs: number;
    readonly pollMs: number;
    /** Early-warning pacing (server/notifications/forecast-pacing.ts). */
    readonly pacing: { readonly horizonDays: { readonly soft: number; readonly hard: number }; readonly resendChange: number; readonly resendShiftHours: number; readonly maxPerDay: number };
  };
}

/**
 * Maps the parsed variables to {@link NotifyConfig}. The hard-limit warning horizon is
 * FORECAST_ALERT_DAYS, which the enforcement group owns.
 */
export function parseNotifyConfig(e: z.infer<typeof notifyEnv> & { FORECAST_ALERT_DAYS: number }): NotifyConfig {
  return {
    notify: {
      smtpUrl: e.SMTP_URL,
      smtpFrom: e.SMTP_FROM,
      webhookSecret: e.WEBHOOK_SECRET,
      adminEmail: e.ADMIN_EMAIL,
      adminWebhookUrl: e.ADMIN_WEBHOOK_URL,
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      backoffMs: e.NOTIFY_BACKOFF_MS,
      timeoutMs: e.NOTIFY_TIMEOUT_MS,
      pollMs: e.NOTIFY_POLL_MS,
      pacing: {
        horizonDays: { soft: e.FORECAST_WARN_SOFT_DAYS, hard: e.FORECAST_ALERT_DAYS },
        resendChange: e.FORECAST_RESEND_CHANGE,
        resendShiftHours: e.FORECAST_RESEND_SHIFT_HOURS,
        maxPerDay: e.FORECAST_MAX_PER_DAY,
      },
    },
  };
}
