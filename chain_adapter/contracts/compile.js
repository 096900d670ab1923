#!/usr/bin/env node
// Compile BillAnchor.sol with the npm `solc` package (solcjs, pinned in package.json; nothing is downloaded)
// and write BillAnchor.json beside it: ABI, creation and runtime bytecode, compiler version, settings and the
// source's sha256. Fixed settings (optimizer runs, EVM version, source name) make the output reproducible.
//
//   node chain_adapter/contracts/compile.js            write BillAnchor.json
//   node chain_adapter/contracts/compile.js --check    exit 1 if BillAnchor.json differs from a fresh compile
//   --source FILE / --out FILE                         compile another source / write or compare another file
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const HERE = __dirname;
const CONTRACT = "BillAnchor";
const SOURCE_NAME = `${CONTRACT}.sol`;
// Paris: no PUSH0/MCOPY, so the same bytecode runs on Anvil and on chains that lag behind the latest forks.
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "paris",
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

function parseArgs(argv) {
  const options = { check: false, source: path.join(HERE, SOURCE_NAME), out: path.join(HERE, `${CONTRACT}.json`) };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === "--check") options.check = true;
    else if (arg === "--source") options.source = path.resolve(argv[(i += 1)]);
    else if (arg === "--out") options.out = path.resolve(argv[(i += 1)]);
    else {
      process.stderr.write(`unknown argument ${arg}\nusage: compile.js [--check] [--source FILE] [--out FILE]\n`);
      process.exit(2);
    }
  }
  return options;
}

function compile(sourceText) {
  const input = { language: "Solidity", sources: { [SOURCE_NAME]: { content: sourceText } }, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const problems = output.errors || [];
  for (const problem of problems) process.stderr.write(problem.formattedMessage || problem.message);
  if (problems.some((p) => p.severity === "error")) process.exit(1);
  const contract = output.contracts[SOURCE_NAME][CONTRACT];
  const { outputSelection, ...recorded } = SETTINGS;
  return {
    contractName: CONTRACT,
    sourceName: SOURCE_NAME,
    sourceSha256: crypto.createHash("sha256").update(sourceText, "utf8").digest("hex"),
    compiler: { name: "solc", version: solc.version() },
    settings: recorded,
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const text = `${JSON.stringify(compile(fs.readFileSync(options.source, "utf8")), null, 2)}\n`;
  const shown = path.relative(process.cwd(), options.out);
  if (options.check) {
    const current = fs.existsSync(options.out) ? fs.readFileSync(options.out, "utf8") : "";
    if (current !== text) {
      process.stderr.write(`${shown} does not match ${path.basename(options.source)}: run 'npm run compile:contracts'.\n`);
      process.exit(1);
    }
    process.stdout.write(`${shown} matches the source.\n`);
    return;
  }
  fs.writeFileSync(options.out, text);
  process.stdout.write(`wrote ${shown}\n`);
}

main();
