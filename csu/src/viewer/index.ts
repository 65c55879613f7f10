/** The receiving centre's web viewer: what `vigie csu` wires in. */
export { ViewerServer, type ViewerServerOptions } from './viewer-server.js';
export {
  ViewerConfigSchema,
  ApprovedViewerSchema,
  parseViewerConfig,
  isWithinValidity,
  type ViewerConfig,
  type ViewerConfigInput,
  type ApprovedViewer,
} from './viewer-config.js';
export { hashPasswordCommand, type HashPasswordCommandOptions } from './hash-password-command.js';
export {
  hashPassword,
  verifyPassword,
  DEFAULT_SCRYPT_PARAMS,
} from '../../../lib/src/web/password-hash.js';
export { SYSTEM_WEB_CLOCK, type WebClock } from '../../../lib/src/web/web-clock.js';
