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
    public void Training_turn_by_turn_on_evicted_caches_lowers_the_loss_too()
    {
        using var agent = new SmallAgent(seed: 13);
        var builder = new SampleBuilder(agent.Config, agent.Tokenizer);
        var options = new SuiteOptions { GroundingShare = 0, MemoryShare = 1, MaxScreens = 3, MinScreens = 3, MaxWidgets = 6 };
        var samples = Enumerable.Range(0, 2).Select(i => builder.Build(TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, i), options))).ToList();
        using var heads = new AuxiliaryHeads(agent.Config.Vision.OutHiddenSize, agent.Config.Text.HiddenSize, seed: 1);
        var parameters = agent.Model.Weights.Select(w => (w.Name, w.Tensor)).Concat(heads.Named).ToList();
        using var optimizer = new AdamW(parameters);
        var trainer = new BatchTrainer(agent.Model, heads, new LossWeights(), builder.PrefixIds, new KvEviction { Share = 1, MinRatio = 0.1, MaxRatio = 0.2 });
        var losses = new List<BatchLosses>();
        for (var step = 0; step < 6; step++)
        {
            losses.Add(trainer.Accumulate(samples));
            optimizer.Step(2e-3, 1.0);
        }

        foreach (var sample in samples)
        {
            sample.Dispose();
        }

        Assert.All(losses, l => Assert.True(double.IsFinite(l.Total)));
        Assert.True(losses[^1].Total < 0.8 * losses[0].Total, $"loss went from {losses[0].Total} to {losses[^1].Total}");
    }

    [Fact]
    public void A_samples_turns_split_it_where_a_session_prefills_and_decodes()
    {
        using var agent = new SmallAgent(seed: 14);
        var builder = new SampleBuilder(agent.Config, agent.Tokenizer);
        var task = TaskGenerator.Generate(SuiteSeeds.For(SuiteSplit.Train, 5), new SuiteOptions { GroundingShare = 0, MemoryShare = 1 });
        using var sample = builder.Build(task);
        Assert.Equal(task.Steps.Count, sample.Turns.Count);
        Assert.Equal(0, sample.Turns[0].PromptStart);
        var imEnd = agent.Tokenizer.AddedTokens["<|im_end|>"];
        for (var k = 0; k < sample.Turns.Count; k++)
        {
            var turn = sample.Turns[k];
            var step = task.Steps[k];
            Assert.Equal(step.Reply(step.Screen.Width, step.Screen.Height), agent.Tokenizer.Decode(sample.Ids.Skip(turn.ReplyStart).Take(turn.ReplyEnd - turn.ReplyStart)));
            Assert.Equal(imEnd, sample.Ids[turn.ReplyEnd]);
            Assert.Equal(k + 1 < sample.Turns.Count ? sample.Turns[k + 1].PromptStart : sample.Ids.Count - 1, turn.ReplyEnd);
            Assert.Single(sample.Images, i => i.FirstRow >= turn.PromptStart && i.FirstRow < turn.ReplyStart);
        }
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
