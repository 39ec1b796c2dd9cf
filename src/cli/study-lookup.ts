export { resolveStudy as studyFromFlag } from '../api/index.js';
