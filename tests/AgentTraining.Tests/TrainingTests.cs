using StarKv.AgentTraining.Samples;
using StarKv.AgentTraining.Training;
using StarKv.SyntheticGui.Tasks;

namespace StarKv.AgentTraining.Tests;

public sealed class TrainingTests
{
    [Fact]
    public void Training_steps_through_the_runtimes_model_lower_the_loss_of_a_small_batch()
    {
        using var agent = new SmallAgent(seed: 11);
        var builder = new SampleBuilder(agent.Config, agent.Tokenizer);
        var options = new SuiteOptions { GroundingShare = 0.5, MemoryShare = 0.5, MaxScreens = 3, MinScreens = 2, MaxWidgets = 6 };
        var samples = Enumerable.Range(0, 3).Select(i => builder.Build(TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, i), options))).ToList();
        using var heads = new AuxiliaryHeads(agent.Config.Vision.OutHiddenSize, agent.Config.Text.HiddenSize, seed: 1);
        var parameters = agent.Model.Weights.Select(w => (w.Name, w.Tensor)).Concat(heads.Named).ToList();
        using var optimizer = new AdamW(parameters);
        var trainer = new BatchTrainer(agent.Model, heads, new LossWeights(), builder.PrefixIds);
        var losses = new List<BatchLosses>();
        for (var step = 0; step < 8; step++)
        {
            losses.Add(trainer.Accumulate(samples));
            optimizer.Step(2e-3, 1.0);
        }

        foreach (var sample in samples)
        {
            sample.Dispose();
        }

        Assert.All(losses, l => Assert.True(double.IsFinite(l.Total) && l.Attention > 0 && l.Position > 0));
        Assert.True(losses[^1].Total < 0.8 * losses[0].Total, $"loss went from {losses[0].Total} to {losses[^1].Total}");
        Assert.True(losses[^1].Reply < losses[0].Reply);
        Assert.True(losses[^1].Attention < losses[0].Attention);
        Assert.True(losses[^1].Position < losses[0].Position);
    }

    [Fact]
    public void Gradients_reach_every_weight_the_served_model_uses()
    {
        using var agent = new SmallAgent(seed: 12);
        var builder = new SampleBuilder(agent.Config, agent.Tokenizer);
        using var sample = builder.Build(TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, 3), new SuiteOptions { GroundingShare = 1, MemoryShare = 0 }));
        using var heads = new AuxiliaryHeads(agent.Config.Vision.OutHiddenSize, agent.Config.Text.HiddenSize, seed: 1);
        new BatchTrainer(agent.Model, heads, new LossWeights(), builder.PrefixIds).Accumulate([sample]);
        foreach (var weight in agent.Model.Weights)
        {
            Assert.True(weight.Tensor.grad is not null, $"{weight.Name} has no gradient");
            Assert.True(weight.Tensor.grad!.abs().sum().item<float>() > 0, $"{weight.Name} has a zero gradient");
        }
    }

    [Fact]
    public void The_learning_rate_warms_up_then_decays_by_a_cosine_to_a_tenth()
    {
        var options = new TrainingOptions { RunFolder = "unused", Steps = 1000, WarmupSteps = 100, LearningRate = 1e-3 };
        Assert.Equal(1e-5, options.LearningRateAt(0), 12);
        Assert.Equal(1e-3, options.LearningRateAt(99), 12);
        Assert.Equal(1e-3 * (0.1 + (0.9 * 0.5)), options.LearningRateAt(550), 9);
        Assert.Equal(1e-4, options.LearningRateAt(1000), 12);
    }

    [Fact]
    public void The_curriculum_starts_with_few_widgets_and_ends_with_the_suites_mix()
    {
        var first = Curriculum.At(0, 1000);
        Assert.Equal(1.0, first.GroundingShare);
        Assert.True(first.MaxWidgets <= 4);
        var last = Curriculum.At(999, 1000);
        Assert.Equal(new SuiteOptions(), last);
    }
}
