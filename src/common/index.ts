/** Formats and rules shared by the frontend and the pipeline (no DOM, no JupyterLab). */
export * from './columns';
export * from './csv';
export * from './legacy';
export * from './validate';
