/**
 * Plain words for findings, in the tenant's language (English and Chinese). Rendered when read,
 * not when found, so a tenant that changes its language sees every stored finding in the new one.
 */
import { humanBytes } from '../notifications/humanize.js';
import type { Finding, RuleId } from './insight-rules.js';

/** Languages of the messages (the tenant's `language`). */
export type InsightLanguage = 'en' | 'zh';

type Words = { title: string; suggestion: string };
type Render = (f: Finding, b: (n: bigint | number) => string) => Words;

const list = (xs: unknown, n = 3) => (Array.isArray(xs) ? xs.slice(0, n).join(', ') : '');
const days = (f: Finding) => (f.details.days as Array<{ day: string; purgesAt: string }> | undefined) ?? [];
const dayOnly = (iso: string) => iso.slice(0, 16).replace('T', ' ') + ' UTC';

const en: Record<RuleId, Render> = {
  'checkpoint-series': (f, b) => ({
    title: `Checkpoint series: ${f.details.series} checkpoints in ${f.details.kind === 'files' ? String(f.details.directory) : 'numbered folders'}`,
    suggestion: `Keep the newest (${list(f.details.kept)}) and delete the older ones to free ${b(f.reclaimableBytes)}.`,
  }),
  'python-env': (f, b) => ({
    title: `${f.details.kind === 'conda' ? 'Conda' : 'Python virtual'} environment of ${b(f.bytes)}`,
    suggestion:
      f.reclaimableBytes > 0n
        ? `Not modified for a long time: if nobody uses it, remove it (conda env remove / rm -r) to free ${b(f.reclaimableBytes)}; it can be rebuilt from its requirements.`
        : 'In use recently. Environments link and copy many files: share one per team, or keep them outside the quota.',
  }),
  'package-cache': (f, b) => ({
    title: `Package caches (pip, conda, uv): ${b(f.bytes)}`,
    suggestion: `Downloaded packages are kept for reinstalling; run "pip cache purge" or "conda clean --all" (or delete the folders) to free ${b(f.reclaimableBytes)}.`,
  }),
  'framework-cache': (f, b) => ({
    title: `Model and framework caches (Hugging Face, torch): ${b(f.bytes)}`,
    suggestion: `These are downloads and compiled kernels that come back on demand; delete unused models (huggingface-cli delete-cache) to free up to ${b(f.reclaimableBytes)}.`,
  }),
  pycache: (f, b) => ({
    title: `Python bytecode (__pycache__) in ${f.details.directories} folders`,
    suggestion: `Python rebuilds these files when needed; deleting them frees ${b(f.reclaimableBytes)}.`,
  }),
  'experiment-logs': (f, b) => ({
    title: `Experiment tracking logs (wandb, mlruns, TensorBoard): ${b(f.bytes)}`,
    suggestion:
      f.reclaimableBytes > 0n
        ? `Runs untouched for a month or more hold ${b(f.reclaimableBytes)}: sync what you need to the tracking server, then delete them locally.`
        : 'Written recently; once the runs are synced to the tracking server, the local copies can go.',
  }),
  'core-dumps': (f, b) => ({
    title: `Core dumps: ${f.files} files`,
    suggestion: `Crash dumps are only needed for debugging; delete them to free ${b(f.reclaimableBytes)}, and set "ulimit -c 0" in job scripts.`,
  }),
  trash: (f, b) => ({
    title: `Trash: ${b(f.bytes)} of deleted files still count`,
    suggestion: `JuiceFS keeps deleted files for ${f.details.trashDays} day(s); the oldest go on ${dayOnly(days(f)[0]?.purgesAt ?? '')}. To free ${b(f.reclaimableBytes)} now, empty .trash (juicefs rmr on its folders).`,
  }),
};

const zh: Record<RuleId, Render> = {
  'checkpoint-series': (f, b) => ({
    title: `检查点序列：${f.details.kind === 'files' ? String(f.details.directory) : '编号目录'} 中有 ${f.details.series} 个检查点`,
    suggestion: `保留最新的（${list(f.details.kept)}），删除较早的即可释放 ${b(f.reclaimableBytes)}。`,
  }),
  'python-env': (f, b) => ({
    title: `${f.details.kind === 'conda' ? 'Conda' : 'Python 虚拟'}环境，占用 ${b(f.bytes)}`,
    suggestion:
      f.reclaimableBytes > 0n
        ? `已长时间未修改：如无人使用，可删除（conda env remove 或 rm -r）以释放 ${b(f.reclaimableBytes)}，需要时可按依赖清单重建。`
        : '最近仍在使用。环境包含大量文件：建议团队共用一个，或放在配额之外。',
  }),
  'package-cache': (f, b) => ({
    title: `软件包缓存（pip、conda、uv）：${b(f.bytes)}`,
    suggestion: `这些是为重新安装而保留的下载文件；运行 "pip cache purge" 或 "conda clean --all"（或直接删除目录）可释放 ${b(f.reclaimableBytes)}。`,
  }),
  'framework-cache': (f, b) => ({
    title: `模型与框架缓存（Hugging Face、torch）：${b(f.bytes)}`,
    suggestion: `这些是按需重新下载或编译的内容；删除不用的模型（huggingface-cli delete-cache）最多可释放 ${b(f.reclaimableBytes)}。`,
  }),
  pycache: (f, b) => ({
    title: `Python 字节码（__pycache__），共 ${f.details.directories} 个目录`,
    suggestion: `Python 会在需要时重新生成这些文件；删除可释放 ${b(f.reclaimableBytes)}。`,
  }),
  'experiment-logs': (f, b) => ({
    title: `实验跟踪日志（wandb、mlruns、TensorBoard）：${b(f.bytes)}`,
    suggestion:
      f.reclaimableBytes > 0n ? `一个月以上未改动的运行记录占 ${b(f.reclaimableBytes)}：同步到跟踪服务器后即可删除本地副本。` : '最近仍在写入；运行记录同步到跟踪服务器后，本地副本即可删除。',
  }),
  'core-dumps': (f, b) => ({
    title: `核心转储文件：${f.files} 个`,
    suggestion: `崩溃转储仅用于调试；删除可释放 ${b(f.reclaimableBytes)}，并在作业脚本中设置 "ulimit -c 0"。`,
  }),
  trash: (f, b) => ({
    title: `回收站：已删除的 ${b(f.bytes)} 仍计入配额`,
    suggestion: `JuiceFS 会保留已删除文件 ${f.details.trashDays} 天；最早的一批将于 ${dayOnly(days(f)[0]?.purgesAt ?? '')} 自动清除。如需立即释放 ${b(f.reclaimableBytes)}，请清空 .trash（对其中目录执行 juicefs rmr）。`,
  }),
};

/** A finding's title and suggestion in `lang`. */
export function describeFinding(f: Finding, lang: InsightLanguage): Words {
  return (lang === 'zh' ? zh : en)[f.rule](f, humanBytes);
}

/** One line on how the volume changed between two walks, naming where most of it happened. */
export function describeGrowth(lang: InsightLanguage, bytesDelta: bigint, hours: number, top: { path: string; bytesDelta: bigint } | undefined): string {
  const since = hours < 36 ? (lang === 'zh' ? '上次扫描' : 'the previous walk') : lang === 'zh' ? `${Math.round(hours / 24)} 天前` : `${Math.round(hours / 24)} days ago`;
  const abs = humanBytes(bytesDelta < 0n ? -bytesDelta : bytesDelta);
  const grew = bytesDelta >= 0n;
  if (lang === 'zh') return `自${since}以来${grew ? '增长' : '减少'}了 ${abs}${top ? `，其中 ${humanBytes(top.bytesDelta < 0n ? -top.bytesDelta : top.bytesDelta)} 在 ${top.path}` : ''}。`;
  return `${grew ? 'Grew' : 'Shrank'} ${abs} since ${since}${top ? `, ${humanBytes(top.bytesDelta < 0n ? -top.bytesDelta : top.bytesDelta)} of it in ${top.path}` : ''}.`;
}
