export { bestOf, type StudyBest } from '../agents/index.js';
