export { createStudy, getStudy, listStudies, setStudyState, setExploreFrom, setDriftDetection, useExploreGeneration, type StudyRow } from './studies.js';
export {
  insertGeneration,
  getGeneration,
  latestGeneration,
  listGenerations,
  markGenerationScored,
  listCombinations,
  recordScores,
  scoreHistory,
  type PlannedTest,
  type GenerationRow,
  type NewGeneration,
  type CombinationRow,
  type ScorePoint,
} from './generations.js';
export {
  acquireStudyDriver,
  getStudyDriver,
  renewStudyDriver,
  releaseStudyDriver,
  holdsStudyDriver,
  type StudyDriverRow,
  type DriverClaim,
  type DriverClaimParams,
  type DriverLease,
} from './study-drivers.js';
export { countResultsByKey, insertResults, insertResultsFenced, listRecentResults, listResults, type TestResultRow } from './results.js';
export {
  BOT_STATES,
  registerBot,
  recordHeartbeat,
  checkInBot,
  recordOutcome,
  markRestarting,
  markLost,
  markIsolated,
  reinstateBot,
  markOffline,
  markDraining,
  resumeDrainedBot,
  getBot,
  listBots,
  type BotRow,
  type BotState,
  type BotTransport,
} from './bots.js';
export { insertCampaign, addRegistered, setCampaignProgress, getCampaign, listCampaigns, type CampaignRow } from './campaigns.js';
export { saveReport, listReports } from './reports.js';
