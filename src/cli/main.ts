#!/usr/bin/env node
/** The `wallos-mem` command line. */
import { Command } from 'commander';
import { formatE820, generateMemoryMap } from '../hw/memory-map.js';
import { formatSize, parseSize } from '../hw/size.js';

const program = new Command('wallos-mem')
  .description('The WallOS memory system on a simulated x86-64 machine')
  .version('0.1.0');

program
  .command('run')
  .description('boot a machine and print its memory map')
  .option('--memory <size>', 'RAM size, e.g. 256M or 4G', '256M')
  .action((options: { memory: string }) => {
    const bytes = parseSize(options.memory);
    const map = generateMemoryMap(bytes);
    console.log(`wallos-memory: ${formatSize(bytes)} machine`);
    for (const line of formatE820(map)) console.log(line);
  });

program.parse();
