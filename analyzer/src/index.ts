export { analyzerConfigShape, loadAnalyzerConfig, type AnalyzerConfig } from './config.js';
export { startAnalyzer, analyzeOnce, type Analyzer } from './service.js';
export { metricEvents, finiteOnly } from './events.js';
export { Joiner, StateFile, ensureLabeledTemplate, uuidv7Time } from './labeled.js';
export { binCounts, countsBelow, ksStatistic, loadReference, referenceBinCounts, type Reference, type ReferenceDistribution } from './reference.js';
export { analyzeWindow, aucFromHistograms, DEFAULT_SETTINGS, type WindowReport, type GroupReport, type AnalysisSettings } from './window.js';
export { ksPValue, kolmogorovSf, newcombeDiff, twoProportionPValue, psi, benjaminiHochberg } from './stats.js';
