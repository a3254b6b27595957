using Qwen.Eval;

return await EvalApp.Create().RunAsync(args);
