export default {
  // Runes everywhere: no legacy reactive statements can creep in.
  compilerOptions: { runes: true },
};
