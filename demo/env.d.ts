// Vite's `?url` / `?raw` imports, declared here (instead of referencing vite/client) so the demo's ambient types do
// not leak into the rest of the project, which the root tsconfig type-checks together with demo/.
declare module '*?url' {
  const url: string;
  export default url;
}
declare module '*?raw' {
  const text: string;
  export default text;
}
