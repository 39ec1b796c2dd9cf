/**
 * api: the HTTP API of an Orchestra system, over its store and registry
 * (and its bus, when the process has one): OpenAPI from the zod schemas that
 * validate, bearer tokens with roles, JSON errors with the ORC_* codes.
 */
export { createApiServer, type ApiDeps, type ApiServer, type Access, type StudyLaunch, type StudyLauncher } from './server.js';
export { apiConfig, type ApiConfig, type ApiOptions } from './config.js';
export { createToken, hashToken, TokenAuthenticator } from './tokens.js';
export { ApiError, statusFor, toApiError, type ApiErrorBody } from './errors.js';
export { resolveStudy, noStudyYet, generationsView, combinationsView, bestView, botsView, campaignsView, type GenerationView, type CombinationView, type BotView } from './views.js';
export { ProcessTelemetry, type LoopProblem } from './telemetry.js';
