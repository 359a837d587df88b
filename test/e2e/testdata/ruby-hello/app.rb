require 'greeting'

def handler(event:, context:)
  { 'greeting' => Greeting.hello(event['name']), 'function' => context.function_name,
    'request' => context.aws_request_id, 'env' => ENV['AWS_EXECUTION_ENV'] }
end

def boom(event:, context:)
  raise ArgumentError, 'bad input'
end
