import ts from 'typescript';
const file = process.argv[2];
const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 });
const checker = program.getTypeChecker();
const sym = checker.getSymbolAtLocation(program.getSourceFile(file));
for (const s of checker.getExportsOfModule(sym)) {
  const t = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
  const value = (t.flags & ts.SymbolFlags.Value) !== 0;
  const decl = t.declarations?.[0]?.getSourceFile().fileName.replace(process.cwd() + '/', '');
  console.log(`${value ? 'v' : 't'} ${s.getName()} ${decl}`);
}
