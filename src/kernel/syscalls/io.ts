/**
 * The I/O family: read and write on the caller's file descriptors, copying through its page
 * tables (copy_to_user/copy_from_user), so a bad buffer is -EFAULT and never a kernel fault.
 * A closed fd, or one open the other way (write to stdin, read from stdout), is -EBADF.
 */
import { ERRNO } from '../../linux-abi.js';
import { InputFile, OutputFile } from '../files/open-file.js';
import { numberArg, type SyscallHandler } from './handler.js';

/** write(2): the number of bytes written. */
export const sysWrite: SyscallHandler = ({ machine, process }, args) => {
  const file = process.files.get(numberArg(args, 0));
  if (!(file instanceof OutputFile)) return -ERRNO.EBADF;
  const bytes = machine.vm.copyFromUser(process.space, numberArg(args, 1), numberArg(args, 2));
  if (typeof bytes === 'number') return bytes;
  file.append(bytes);
  return bytes.length;
};

/** close(2): 0, or -EBADF when `fd` is not open. Other processes' fds to the same file stay. */
export const sysClose: SyscallHandler = ({ process }, args) =>
  process.files.close(numberArg(args, 0)) ? 0 : -ERRNO.EBADF;

/** read(2): the number of bytes read, 0 at the end of the file. The offset moves only by what
 * reached the buffer. */
export const sysRead: SyscallHandler = ({ machine, process }, args) => {
  const file = process.files.get(numberArg(args, 0));
  const length = numberArg(args, 2);
  if (!(file instanceof InputFile)) return -ERRNO.EBADF;
  if (!Number.isSafeInteger(length) || length < 0) return -ERRNO.EINVAL;
  const available = file.peek(length);
  const status = machine.vm.copyToUser(process.space, numberArg(args, 1), available);
  if (status < 0) return status;
  file.offset += available.length;
  return available.length;
};
