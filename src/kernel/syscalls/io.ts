/**
 * The I/O family: read and write on the standard streams, copying through the caller's page
 * tables (copy_to_user/copy_from_user), so a bad buffer is -EFAULT and never a kernel fault.
 */
import { ERRNO } from '../../linux-abi.js';
import { numberArg, type SyscallHandler } from './handler.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;

/** write(2) to fd 1 or 2: the number of bytes written. */
export const sysWrite: SyscallHandler = ({ machine, process }, args) => {
  const fd = numberArg(args, 0);
  const stream = fd === STDOUT ? process.stdout : fd === STDERR ? process.stderr : undefined;
  if (stream === undefined) return -ERRNO.EBADF;
  const bytes = machine.vm.copyFromUser(process.space, numberArg(args, 1), numberArg(args, 2));
  if (typeof bytes === 'number') return bytes;
  for (const byte of bytes) stream.push(byte);
  return bytes.length;
};

/** read(2) from fd 0: the number of bytes read, 0 at the end of stdin. */
export const sysRead: SyscallHandler = ({ machine, process }, args) => {
  const length = numberArg(args, 2);
  if (numberArg(args, 0) !== STDIN) return -ERRNO.EBADF;
  if (!Number.isSafeInteger(length) || length < 0) return -ERRNO.EINVAL;
  const available = process.stdin.subarray(process.stdinOffset, process.stdinOffset + length);
  const status = machine.vm.copyToUser(process.space, numberArg(args, 1), available);
  if (status < 0) return status;
  process.stdinOffset += available.length;
  return available.length;
};
