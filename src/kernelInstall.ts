/**
 * Running `%repoguard install NAME` in a notebook's kernel and reading what it
 * answers: the magic's install bundle (`application/vnd.repoguard.install+json`)
 * for the outcome and the names to request, its text for people.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { IInstallBundle, INSTALL_MIME, readInstallBundle } from './common/install';
import { installOutcome } from './status';
import type { IInstallState } from './tokens';

/** Install `name` through the kernel (the magic resolves the pinned commit and refuses the rest). */
export async function installInKernel(
  kernel: Kernel.IKernelConnection,
  name: string
): Promise<IInstallState> {
  const code = `%load_ext repoguard\n%repoguard install ${name}`;
  let output = '';
  let bundle: IInstallBundle | null = null;
  try {
    const future = kernel.requestExecute({ code, store_history: false, stop_on_error: true });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      const content = msg.content as {
        text?: string;
        ename?: string;
        evalue?: string;
        data?: Record<string, unknown>;
      };
      const type = msg.header.msg_type;
      const data = content.data ?? {};
      if ((type === 'execute_result' || type === 'display_data') && INSTALL_MIME in data) {
        bundle = readInstallBundle(data[INSTALL_MIME]) ?? bundle;
      }
      if (type === 'stream' && content.text) {
        output += content.text;
      } else if (type === 'error') {
        output += `${content.ename}: ${content.evalue}\n`;
      } else if (
        (type === 'execute_result' || type === 'display_data') &&
        typeof data['text/plain'] === 'string'
      ) {
        output += `${data['text/plain']}\n`;
      }
    };
    const reply = await future.done;
    return installOutcome(name, reply.content.status === 'ok', output, bundle);
  } catch (reason) {
    const message = reason instanceof Error ? reason.message : String(reason);
    return { name, status: 'failed', text: `${output}${message}`.trim(), missing: [] };
  }
}
