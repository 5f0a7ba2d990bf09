/**
 * A PaddleVideo config for the same run (`train --paddle-config out.yaml`), for when one machine is not enough:
 * `python -m paddle.distributed.launch --gpus=0,1,2,3 main.py -c out.yaml` trains the same recipe on PaddleVideo's
 * multi-GPU loop, from the same starting weights. Laid out as `configs/recognition/pptsn/pptsn_k400_frames.yaml`;
 * the learning rate and batch are per card, as PaddleVideo reads them.
 */
import type { ListFormat } from '../../core/dataset/lists.js';
import type { DatasetRecipe } from '../../core/train/recipe.js';

export interface PaddleConfigInput {
  recipe: DatasetRecipe;
  format: ListFormat;
  classes: number;
  depth: number;
  trainList: string;
  validList?: string | undefined;
  root?: string | undefined;
  suffix?: string | undefined;
  pretrained?: string | undefined;
  name: string;
}

const q = (s: string) => JSON.stringify(s);

export function paddleConfigYaml(c: PaddleConfigInput): string {
  const r = c.recipe;
  const frames = c.format === 'rawframes';
  const dataset = (file: string) => [
    `        format: ${q(frames ? 'FrameDataset' : 'VideoDataset')}`,
    `        data_prefix: ${q(c.root ?? '')}`,
    `        file_path: ${q(file)}`,
    frames ? `        suffix: 'img_{:05}.jpg'` : c.suffix ? `        suffix: ${q(c.suffix)}` : '',
  ].filter(Boolean).join('\n');
  const decode = frames ? '            name: "FrameDecoder"' : '            name: "VideoDecoder"\n            backend: "decord"';
  const norm = '            - Image2Array:\n            - Normalization:\n                mean: [0.485, 0.456, 0.406]\n                std: [0.229, 0.224, 0.225]';
  const scale = "            - Scale:\n                short_size: 256\n                fixed_ratio: False\n                do_round: True\n                backend: 'cv2'";
  const sample = (valid: boolean) => `        sample:\n            name: "Sampler"\n            num_seg: ${r.segments}\n            seg_len: 1\n            valid_mode: ${valid ? 'True' : 'False'}\n            select_left: True`;
  return `# Written by pptsn-web train --paddle-config: the same recipe for PaddleVideo (main.py -c this file).
MODEL:
    framework: "Recognizer2D"
    backbone:
        name: "ResNetTweaksTSN"
        pretrained: ${q(c.pretrained ?? '')}
        layers: ${c.depth}
    head:
        name: "ppTSNHead"
        num_classes: ${c.classes}
        in_channels: ${c.depth >= 50 ? 2048 : 512}
        drop_ratio: ${r.dropout}
        std: 0.01
        ls_eps: ${r.labelSmoothing}

DATASET:
    batch_size: ${r.batchSize}
    valid_batch_size: ${r.batchSize}
    test_batch_size: 1
    num_workers: 4
    train:
${dataset(c.trainList)}
${c.validList ? `    valid:\n${dataset(c.validList)}\n` : ''}
PIPELINE:
    train:
        decode:
${decode}
${sample(false)}
        transform:
${scale}
            - MultiScaleCrop:
                target_size: 224
                allow_duplication: True
                more_fix_crop: True
                backend: 'cv2'
            - RandomFlip:
${norm}
    valid:
        decode:
${decode}
${sample(true)}
        transform:
${scale}
            - CenterCrop:
                target_size: 224
                do_round: False
${norm}

OPTIMIZER:
    name: 'Momentum'
    momentum: 0.9
    learning_rate:
        iter_step: True
        name: 'CustomWarmupCosineDecay'
        max_epoch: ${r.epochs}
        warmup_epochs: ${r.warmupEpochs}
        warmup_start_lr: ${r.warmupStartLr}
        cosine_base_lr: ${r.learningRate}
    weight_decay:
        name: 'L2'
        value: ${r.weightDecay}
    use_nesterov: ${r.nesterov ? 'True' : 'False'}
${r.mixupAlpha > 0 ? `\nMIX:\n    name: "Mixup"\n    alpha: ${r.mixupAlpha}\n` : ''}
METRIC:
    name: 'CenterCropMetric'

model_name: ${q(c.name)}
log_interval: 20
save_interval: ${r.saveInterval}
val_interval: ${r.validInterval}
epochs: ${r.epochs}
log_level: "INFO"
`;
}
