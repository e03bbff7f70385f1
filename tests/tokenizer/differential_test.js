// Differential test: mtnlg's GPT-2 tokenizer (through the mtnlg_gpt2_encode CLI) against the npm package
// gpt-3-encoder@1.1.4 on the King James Bible and on seeded random text in many scripts.
//   node differential_test.js ENCODER_CLI VOCAB_DIR WORK_DIR
// Installs the package into WORK_DIR/npm once (from the npm registry, or npm's cache); fails if it cannot.
'use strict';
const {execFileSync, spawnSync} = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [encoderCli, vocabDir, workDir] = process.argv.slice(2);
if (!workDir) fail('usage: node differential_test.js ENCODER_CLI VOCAB_DIR WORK_DIR');
const PACKAGE = 'gpt-3-encoder';
const VERSION = '1.1.4';
const RANDOM_INPUTS = 5000;

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function installReference() {
  const prefix = path.join(workDir, 'npm');
  const packageDir = path.join(prefix, 'node_modules', PACKAGE);
  const manifest = path.join(packageDir, 'package.json');
  if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).version === VERSION) return packageDir;
  fs.mkdirSync(prefix, {recursive: true});
  // Few retries and a short timeout: without a registry the test should fail in seconds, not minutes.
  const npm = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline',
                                '--fetch-retries=1', '--fetch-timeout=20000', `${PACKAGE}@${VERSION}`],
                        {encoding: 'utf8'});
  if (npm.error || npm.status !== 0) {
    fail(`could not install ${PACKAGE}@${VERSION} from the npm registry into ${prefix}, so there is nothing to ` +
         `compare with (npm ${npm.error ? npm.error.message : `exited ${npm.status}`}):\n${npm.stderr || ''}`);
  }
  return packageDir;
}

// The package ships its own copy of the vocabulary; it must be ours, so that the test compares the algorithms.
function checkSameVocabulary(packageDir) {
  const sha256 = file => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  for (const name of ['encoder.json', 'vocab.bpe']) {
    if (sha256(path.join(packageDir, name)) !== sha256(path.join(vocabDir, name))) {
      fail(`${PACKAGE}'s ${name} differs from ${path.join(vocabDir, name)}`);
    }
  }
}

function bibleParagraphs() {
  let text;
  try {
    text = execFileSync('bible', ['-l1000', 'Gen1:1-Rev22:21'], {encoding: 'utf8', maxBuffer: 64 << 20});
  } catch (e) {
    fail(`cannot run 'bible' (Debian packages bible-kjv and bible-kjv-text): ${e.message}`);
  }
  if (text.length < 4e6) fail(`'bible' printed only ${text.length} characters; expected the whole KJV`);
  // Paragraphs (a chapter's title, its verses) rather than the whole text at once: gpt-3-encoder's encode() is
  // quadratic in the number of tokens of one input.
  return text.split('\n\n').filter(p => p.length > 0);
}

// mulberry32: a small seeded generator, so that a failure can be reproduced.
function makeRandom(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = n => Math.floor(next() * n);
  const pick = list => list[int(list.length)];
  const range = (lo, hi) => lo + int(hi - lo + 1);
  return {int, pick, range};
}

const r = makeRandom(20240601);
const chars = s => Array.from(s);
const word = (alphabet, min, max) => {
  const letters = chars(alphabet);
  let out = '';
  for (let n = r.range(min, max); n > 0; --n) out += r.pick(letters);
  return out;
};
const fromRange = (lo, hi, min, max) => {
  let out = '';
  for (let n = r.range(min, max); n > 0; --n) out += String.fromCodePoint(r.range(lo, hi));
  return out;
};
const randomCase = s => chars(s).map(c => (r.int(2) ? c.toUpperCase() : c)).join('');

// Code points on which the two sides' Unicode tables disagree, left out of the random text (and reported by the
// tokenizer's README). U+0085 and U+FEFF: JavaScript's \s drops the first and adds the second; mtnlg follows
// Unicode's White_Space as Python's regex module and tiktoken do (its tests pin both). The others were assigned
// as letters or digits in Unicode 15 to 17: Node 20.20 has Unicode 17's tables, Debian 12's PCRE2 10.42 has
// Unicode 14's, and no Unicode version is more GPT-2's than another. Only those in the BMP are listed: the
// random text draws from the supplementary planes only through the blocks in `supplementary` below.
const DISAGREE_BMP = [[0x85, 0x85], [0x88F, 0x88F], [0xC5C, 0xC5C], [0xCDC, 0xCDC], [0x1C89, 0x1C8A],
                      [0xA7CB, 0xA7CF], [0xA7D2, 0xA7D2], [0xA7D4, 0xA7D4], [0xA7DA, 0xA7DC], [0xA7F1, 0xA7F1],
                      [0xFEFF, 0xFEFF]];
const agreed = c => !DISAGREE_BMP.some(([lo, hi]) => c >= lo && c <= hi) && !(c >= 0xD800 && c <= 0xDFFF);
const anyBmp = (min, max) => {
  let out = '';
  for (let n = r.range(min, max); n > 0;) {
    const c = r.int(0x10000);
    if (agreed(c)) out += String.fromCodePoint(c), --n;
  }
  return out;
};
// Blocks of Unicode 14 or older: emoji, mathematical letters and digits, CJK extension B, Gothic, cuneiform.
const supplementary = [[0x1F300, 0x1F64F], [0x1F680, 0x1F6FF], [0x1F900, 0x1F9FF], [0x1D400, 0x1D7FF],
                       [0x20000, 0x2A6DF], [0x10330, 0x1034A], [0x12000, 0x12399]];

const emojiSequences = ['👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '❤️', '👍🏿', '🇩🇪', '🇯🇵', '1️⃣', '🧑‍🤝‍🧑', '😀', '🙂', '🐕‍🦺',
                        '👁️‍🗨️', '#️⃣'];
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];
const spaces = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\n\n', '\u00A0', '\u2003', '\u3000', '\u2028', ' \t ', '\u202F',
                '\u1680', '\u205F', '\v', '\f'];
const punctuation = chars('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~«»“”‘’—–…¿¡。、・「」《》،؟।');
const otherDigits = chars('٠١٢٣٤٥٦٧٨٩०१२३४५६७८९①②③½¾²³ⅫⅣ〇٫');

const pieces = [
  () => word('abcdefghijklmnopqrstuvwxyz', 1, 10),
  () => randomCase(word('abcdefghijklmnopqrstuvwxyz', 1, 10)),
  () => word('àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœšžłńśźżőűčřěů', 1, 8),
  () => word('aeiou', 1, 3) + 'e\u0301' + word('nrst', 0, 2),  // a combining accent: a mark, not a letter
  () => word('абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗ', 1, 10),
  () => word('αβγδεζηθικλμνξοπρστυφχψωάέήίόύώΑΒΓΔΩ', 1, 10),
  () => fromRange(0x4E00, 0x9FFF, 1, 6),
  () => fromRange(0x3041, 0x30FF, 1, 6),
  () => fromRange(0xAC00, 0xD7A3, 1, 5),
  () => word('ابتثجحخدذرزسشصضطظعغفقكلمنهوي', 1, 8) + (r.int(3) ? '' : '\u064E\u0651'),
  () => word('אבגדהוזחטיכלמנסעפצקרשת', 1, 7) + (r.int(3) ? '' : '\u05B0\u05B8'),
  () => word('कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह', 1, 6) + r.pick(['ि', 'ा', 'ी', '्', 'ं', '']),
  () => word('กขคงจฉชซญดตถทนบปผพฟมยรลวศสหอฮะาิีึืุู่้๊๋', 1, 8),
  () => r.pick(emojiSequences),
  () => fromRange(...r.pick(supplementary), 1, 3),
  () => anyBmp(1, 4),
  () => r.pick(spaces),
  () => r.pick(spaces).repeat(r.range(2, 6)),
  () => r.pick(contractions),
  () => randomCase(r.pick(contractions)),
  () => word('abcdefghijklmnopqrstuvwxyz', 1, 8) + randomCase(r.pick(contractions)),
  () => word('0123456789', 1, 12),
  () => word(otherDigits.join(''), 1, 4),
  () => word(punctuation.join(''), 1, 4),
  () => (r.int(2) ? ' ' : '') + r.pick(punctuation),
  // Repetitions, where the order of merges within one rank matters most.
  () => r.pick(['a', 'ab', 'aab', 'é', ' ', '!', '0', '\n', 'ー', 'ha', 'la', '=', '-', '.']).repeat(r.range(2, 60)),
  () => '<|endoftext|>',
];

function randomText() {
  let out = '';
  for (let n = r.range(1, 24); n > 0; --n) {
    out += r.pick(pieces)();
    if (r.int(3) === 0) out += ' ';
  }
  return out;
}

function escape(s) {
  return JSON.stringify(s).replace(/[\u0080-\uFFFF]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const packageDir = installReference();
checkSameVocabulary(packageDir);
const reference = require(packageDir);

const inputs = bibleParagraphs();
const bibleCount = inputs.length;
for (let i = 0; i < RANDOM_INPUTS; ++i) inputs.push(randomText());
fs.mkdirSync(workDir, {recursive: true});
const corpus = path.join(workDir, 'corpus.jsonl');
fs.writeFileSync(corpus, inputs.map(s => JSON.stringify(s)).join('\n') + '\n');

const ours = spawnSync(encoderCli, [corpus], {encoding: 'utf8', maxBuffer: 256 << 20});
if (ours.error || ours.status !== 0) fail(`${encoderCli} failed: ${ours.error ? ours.error.message : ours.stderr}`);
process.stdout.write(ours.stderr);
const ourIds = ours.stdout.split('\n');

const mismatches = [];
const start = Date.now();
inputs.forEach((input, i) => {
  const theirs = reference.encode(input).join(' ');
  if (theirs !== ourIds[i]) mismatches.push({i, input, theirs, ours: ourIds[i]});
});
console.log(`${PACKAGE}@${VERSION}: ${inputs.length} inputs in ${((Date.now() - start) / 1000).toFixed(1)} s`);
if (mismatches.length > 0) {
  for (const m of mismatches.slice(0, 5)) {
    console.log(`input ${m.i} (${m.i < bibleCount ? 'Bible' : 'random'}): ${escape(m.input)}\n` +
                `  ${PACKAGE}: ${m.theirs}\n  mtnlg:         ${m.ours}`);
  }
  fail(`${mismatches.length} of ${inputs.length} inputs (${bibleCount} Bible paragraphs, ${RANDOM_INPUTS} ` +
       `random) encode differently`);
}
console.log(`all ${inputs.length} inputs (${bibleCount} Bible paragraphs, ${RANDOM_INPUTS} random) encode the same`);
