/** Registers tfjs's gradient functions in Node for tests: the CLI's own registration (src/node/gradients.ts). */
export { registerGradients as registerGradientsNode } from '../../src/node/gradients.js';
