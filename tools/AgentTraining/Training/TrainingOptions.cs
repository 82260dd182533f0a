namespace StarKv.AgentTraining.Training;

/// <summary>A training run's settings (the command's options).</summary>
public sealed record TrainingOptions
{
    /// <summary>Where the run keeps its state, log, curve and exported checkpoints.</summary>
    public required string RunFolder { get; init; }

    /// <summary>Seed of the initial weights and the auxiliary heads.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>Optimiser steps in all.</summary>
    public int Steps { get; init; } = 6000;

    /// <summary>Tasks per step.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Peak learning rate, reached after <see cref="WarmupSteps"/> linear steps, then cosine down to <see cref="FinalLearningRateFraction"/> of it.</summary>
    public double LearningRate { get; init; } = 8e-4;

    public int WarmupSteps { get; init; } = 300;

    public double FinalLearningRateFraction { get; init; } = 0.1;

    public double WeightDecay { get; init; } = 0.01;

    public double ClipNorm { get; init; } = 1.0;

    /// <summary>Steps between saved states (a restarted run resumes from the last).</summary>
    public int SaveEvery { get; init; } = 100;

    /// <summary>Steps between validations (greedy decoding through agent sessions on held-out training-stream tasks).</summary>
    public int ValidateEvery { get; init; } = 500;

    /// <summary>Tasks of each kind in a validation.</summary>
    public int ValidationTasks { get; init; } = 48;

    /// <summary>Torch intra-op threads.</summary>
    public int Threads { get; init; } = 1;

    public LossWeights Weights { get; init; } = new();

    /// <summary>Training on evicted caches (none by default).</summary>
    public KvEviction Eviction { get; init; } = KvEviction.None;

    /// <summary>The learning rate at a step (0-based).</summary>
    public double LearningRateAt(int step)
    {
        if (step < WarmupSteps)
        {
            return LearningRate * (step + 1) / WarmupSteps;
        }

        var progress = Math.Min(1.0, (step - WarmupSteps) / (double)Math.Max(1, Steps - WarmupSteps));
        var cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return LearningRate * (FinalLearningRateFraction + ((1 - FinalLearningRateFraction) * cosine));
    }
}

/// <summary>How much each loss counts.</summary>
public sealed record LossWeights
{
    /// <summary>Cross-entropy of the reply tokens (mean over the batch's reply tokens).</summary>
    public double Reply { get; init; } = 1.0;

    /// <summary>Extra cross-entropy on the coordinate digits.</summary>
    public double Digits { get; init; } = 1.0;

    /// <summary>Each vision token's own row and column from the encoder's output.</summary>
    public double Position { get; init; } = 0.3;

    /// <summary>Whether each vision token of an image after its instruction lies on the target.</summary>
    public double Inside { get; init; } = 0.5;

    /// <summary>Attention of the first coordinate digits' queries on the target's vision tokens (last two layers).</summary>
    public double Attention { get; init; } = 0.5;

    /// <summary>Each vision token's widget label and colour from the encoder's output.</summary>
    public double Content { get; init; } = 0.3;
}

/// <summary>
/// Training with evicted caches: a share of the samples is fed turn by turn as an agent session feeds it, and after each
/// turn's prompt every layer keeps the last <see cref="Window"/> entries and a uniformly random share of the others,
/// at a ratio drawn per sample from [<see cref="MinRatio"/>, <see cref="MaxRatio"/>). The model learns to act from a cache
/// that lacks most of its past, so that what a compressor keeps, rather than the bare absence of the rest, decides its
/// accuracy. The eviction is random, favouring no method's choice.
/// </summary>
public sealed record KvEviction
{
    /// <summary>The observation window every method keeps (SnapKV's W).</summary>
    public const int Window = 32;

    public static KvEviction None { get; } = new() { Share = 0 };

    /// <summary>Share of samples trained on evicted caches.</summary>
    public double Share { get; init; } = 0.5;

    public double MinRatio { get; init; } = 0.08;

    public double MaxRatio { get; init; } = 0.6;
}
