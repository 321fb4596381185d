export {
  type AlertChannel,
  type AlertEvent,
  AlertmanagerChannel,
  channelsFromConfig,
  messageText,
  TelegramChannel,
  WebhookChannel,
} from './channels.js';
export { type Condition, conditionsFrom, type Severity } from './conditions.js';
export { AlertNotifier, type DeliveryReport, type NotifierOptions } from './notifier.js';
export { sendTestAlert, type TestAlertOutcome } from './test-alert.js';
