/** Formats and rules shared by the frontend and the pipeline (no DOM, no JupyterLab). */
export * from './contract';
export * from './columns';
export * from './csv';
export * from './dependencies';
export * from './legacy';
export * from './validate';
export * from './runstate';
export * from './findings';
export * from './install';
